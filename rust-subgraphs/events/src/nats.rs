//! The one way Coursegraph's Rust services connect to NATS: [`connect`] reads the credentials
//! a NATS URL carries (async-nats itself reads only host and port from a URL) and puts the
//! user's replies on the inbox prefix the platform's NATS permissions allow it.

use thiserror::Error;

/// Why [`connect`] failed.
#[derive(Debug, Error)]
pub enum NatsConnectError {
    /// The URL holds no server (empty, or only commas and spaces).
    #[error("the NATS URL is empty")]
    EmptyUrl,
    /// A server of the URL cannot be parsed.
    #[error("the NATS URL cannot be parsed")]
    InvalidUrl(#[source] std::io::Error),
    /// No server answered, or the server refused the connection (credentials included).
    #[error("cannot connect to NATS")]
    Connect(#[source] async_nats::ConnectError),
}

/// Connects to the NATS server(s) of `url` (comma-separated) with the credentials it carries,
/// `nats://user:password@host:4222` or `nats://token@host:4222` (percent-encoded; the first
/// server naming a user wins). A user's replies, and the messages JetStream delivers to its
/// pulls, come on its own inbox prefix `_INBOX_<user>`: the platform's NATS servers let a
/// service subscribe to its own inbox only (scripts/lib/nats-config.mjs), as the TypeScript
/// services' `connectNats` does. Without a user: the default `_INBOX`.
///
/// # Errors
/// [`NatsConnectError::EmptyUrl`] or [`NatsConnectError::InvalidUrl`] for a URL that names no
/// valid server; [`NatsConnectError::Connect`] when the connection fails.
pub async fn connect(url: &str) -> Result<async_nats::Client, NatsConnectError> {
    let mut servers = Vec::new();
    let mut options = async_nats::ConnectOptions::new();
    let mut authenticated = false;
    for part in url.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let addr: async_nats::ServerAddr = part.parse().map_err(NatsConnectError::InvalidUrl)?;
        if !authenticated {
            if let Some(user) = addr.username() {
                let user = percent_decode(user);
                options = match addr.password() {
                    Some(password) => options
                        .custom_inbox_prefix(inbox_prefix(&user))
                        .user_and_password(user, percent_decode(password)),
                    None => options.token(user),
                };
                authenticated = true;
            }
        }
        servers.push(addr);
    }
    if servers.is_empty() {
        return Err(NatsConnectError::EmptyUrl);
    }
    options
        .connect(servers)
        .await
        .map_err(NatsConnectError::Connect)
}

/// `_INBOX_<user>`, with anything but letters, digits, `-` and `_` replaced by `_`.
fn inbox_prefix(user: &str) -> String {
    let safe: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("_INBOX_{safe}")
}

/// Decodes `%XX` escapes of a URL's user or password (invalid escapes are kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                // Two hex digits: always below 256.
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'%'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_credentials_are_decoded_and_name_the_inbox() {
        assert_eq!(percent_decode("p%40ss%3Aw0rd"), "p@ss:w0rd");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(inbox_prefix("search"), "_INBOX_search");
        assert_eq!(inbox_prefix("a.b c"), "_INBOX_a_b_c");
    }

    #[tokio::test]
    async fn a_url_without_a_server_is_refused_before_connecting() {
        assert!(matches!(
            connect(" , ").await,
            Err(NatsConnectError::EmptyUrl)
        ));
        assert!(matches!(
            connect("nats://host:notaport").await,
            Err(NatsConnectError::InvalidUrl(_))
        ));
    }
}

/// A message's NATS headers as the envelope's [`HeaderLookup`](crate::HeaderLookup): the exact
/// name first, then ignoring ASCII case (some clients canonicalise names). No headers at all
/// reads as none of them present.
#[derive(Debug, Clone, Copy)]
pub struct MessageHeaders<'a>(pub Option<&'a async_nats::HeaderMap>);

impl crate::HeaderLookup for MessageHeaders<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let headers = self.0?;
        headers.get(name).map(|v| v.as_str()).or_else(|| {
            headers
                .iter()
                .find(|(key, _)| AsRef::<str>::as_ref(*key).eq_ignore_ascii_case(name))
                .and_then(|(_, values)| values.first())
                .map(|v| v.as_str())
        })
    }
}
