//! The production profile's checks: what `COURSEGRAPH_MODE=production` refuses to run on, with
//! the rules and wording of the TypeScript services' (`packages/service-kit/src/production-profile.ts`).
//! Each check looks at one setting's value and returns a readable problem (`has no password: ...`,
//! shown after the variable's name), or `None` when it is fine. [`Env`](crate::Env)'s `require_*`
//! methods apply them in production mode. The checks read URLs only: credentials travel in the
//! URLs, never in separate settings.

use url::Url;

/// The NATS problem: no user and no token before the host.
pub const NATS_WITHOUT_CREDENTIALS: &str = "has no credentials: NATS must authenticate each service (nats://user:password@host or nats://token@host)";

/// A URL's password, percent-decoded (as `decodeURIComponent` reads it; undecodable stays as is).
fn decoded(part: &str) -> String {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .map_or_else(|_| part.to_owned(), |s| s.into_owned())
}

/// Whether `password` is one the development set-up gives PostgreSQL roles
/// (scripts/lib/env.mjs): the admin's `postgres`, and `cg_<context>_dev`.
fn is_development_password(password: &str) -> bool {
    password == "postgres"
        || password
            .strip_prefix("cg_")
            .and_then(|rest| rest.strip_suffix("_dev"))
            .is_some_and(|context| {
                !context.is_empty()
                    && context
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            })
}

/// A database URL with no password, or with a password of the development set-up (`postgres`,
/// `cg_<context>_dev`). A URL without a password that names a client certificate (`sslcert=`)
/// authenticates by certificate and passes.
pub fn database_password_problem(url: &str) -> Option<String> {
    let Ok(u) = Url::parse(url.trim()) else {
        return Some("is not a URL".into());
    };
    let password = match u.password().map(decoded).filter(|p| !p.is_empty()) {
        Some(password) => password,
        None => u
            .query_pairs()
            .find(|(k, _)| k == "password")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default(),
    };
    if password.is_empty() {
        if u.query_pairs().any(|(k, _)| k == "sslcert") {
            return None;
        }
        return Some(
            "has no password: give the service's database role a password of its own".into(),
        );
    }
    is_development_password(&password).then(|| {
        "uses a development password (postgres or cg_<context>_dev): give the service's database role a password of its own".into()
    })
}

/// A Redis URL without a password (`redis://:password@host` or `redis://user:password@host` pass).
pub fn redis_credentials_problem(url: &str) -> Option<String> {
    let Ok(u) = Url::parse(url.trim()) else {
        return Some("is not a URL".into());
    };
    u.password().is_none_or(str::is_empty).then(|| {
        "has no password: Redis must require one (redis://:password@host or redis://user:password@host)"
            .into()
    })
}

/// `[::1]` and `::1` name the same host.
fn bare(host: &str) -> String {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_ascii_lowercase()
}

/// A JWKS URL that is not https. Plain http is accepted only for a host named in
/// `allowed_http_hosts` (a loopback or a private network the operator vouches for): the keys
/// that verify every token must not be open to tampering on the way.
pub fn jwks_url_problem(url: &str, allowed_http_hosts: &[String]) -> Option<String> {
    let Ok(u) = Url::parse(url.trim()) else {
        return Some("is not a URL".into());
    };
    match u.scheme() {
        "https" => None,
        "http" => {
            let host = u.host_str().unwrap_or("");
            let allowed = allowed_http_hosts.iter().any(|h| bare(h) == bare(host));
            (!allowed).then(|| {
                format!("is plain HTTP: use https, or name its host ({host}) in JWKS_HTTP_ALLOWED_HOSTS")
            })
        }
        other => Some(format!("uses {other}: the keys must be fetched over https")),
    }
}

/// `identity.internal, 127.0.0.1, [::1]` → host names, lower-cased (an IPv6 address without
/// brackets). An entry with a scheme, port, path or wildcard is refused: the list names hosts,
/// nothing else.
///
/// # Errors
/// The first entry that is not a host name, as `"<entry>" is not a host name (...)`.
pub fn parse_host_list(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            // An IPv6 address may be written bare (::1) or bracketed ([::1]).
            let bracketed = if entry.contains(':') && !entry.starts_with('[') {
                format!("[{entry}]")
            } else {
                entry.to_owned()
            };
            let refused = || {
                format!("{entry:?} is not a host name (write identity.internal, 127.0.0.1 or ::1: no scheme, port, path or wildcard)")
            };
            let u = Url::parse(&format!("http://{bracketed}")).map_err(|_| refused())?;
            let host = u.host_str().unwrap_or("");
            let plain = !entry.contains(['*', '/', '?', '#', '@'])
                && u.port().is_none()
                && u.path() == "/"
                && u.query().is_none()
                && u.fragment().is_none()
                && u.username().is_empty()
                && bare(host) == bare(entry);
            if plain {
                Ok(bare(host))
            } else {
                Err(refused())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_need_a_password_of_their_own() {
        for url in [
            "postgres://cg_video:Own-pw-1@db.internal/coursegraph",
            "postgres://cg_video@db.internal/coursegraph?password=Own-pw-1",
            "postgres://cg_video@db.internal/coursegraph?sslcert=/etc/cert.pem",
            // Percent-decoded before it is compared, as the TypeScript check reads it.
            "postgres://cg_video:cg_video_dev%21@db/coursegraph",
        ] {
            assert_eq!(database_password_problem(url), None, "{url}");
        }
        for (url, starts) in [
            (
                "postgres://cg_video:cg_video_dev@127.0.0.1:5432/coursegraph",
                "uses a development password",
            ),
            (
                "postgres://postgres:postgres@127.0.0.1:5432/postgres",
                "uses a development password",
            ),
            (
                "postgres://cg_video:cg%5Fvideo%5Fdev@db/coursegraph",
                "uses a development password",
            ),
            (
                "postgres://cg_video@db/coursegraph?password=cg_learning_dev",
                "uses a development password",
            ),
            ("postgres://cg_video@db/coursegraph", "has no password"),
            ("postgres://cg_video:@db/coursegraph", "has no password"),
            ("host=db user=cg_video", "is not a URL"),
        ] {
            let problem = database_password_problem(url).unwrap_or_default();
            assert!(problem.starts_with(starts), "{url}: {problem}");
        }
    }

    #[test]
    fn redis_urls_need_a_password() {
        for url in [
            "redis://:redis-pw@redis.internal:6379",
            "redis://user:pw@redis.internal:6379/1",
        ] {
            assert_eq!(redis_credentials_problem(url), None, "{url}");
        }
        for url in [
            "redis://127.0.0.1:6379",
            "redis://user@redis.internal:6379",
            "redis://user:@h",
        ] {
            let problem = redis_credentials_problem(url).unwrap_or_default();
            assert!(
                problem.starts_with("has no password: Redis must require one"),
                "{url}: {problem}"
            );
        }
        assert_eq!(
            redis_credentials_problem("::").as_deref(),
            Some("is not a URL")
        );
    }

    #[test]
    fn jwks_urls_are_https_or_http_to_an_allowed_host() {
        let allowed = parse_host_list("identity.internal, ::1").unwrap();
        for url in [
            "https://identity.internal/.well-known/jwks.json",
            "https://127.0.0.1:4001/.well-known/jwks.json",
            "http://IDENTITY.internal:4001/.well-known/jwks.json",
            "http://[::1]:4001/.well-known/jwks.json",
        ] {
            assert_eq!(jwks_url_problem(url, &allowed), None, "{url}");
        }
        assert_eq!(
            jwks_url_problem("http://127.0.0.1:4001/.well-known/jwks.json", &allowed).as_deref(),
            Some(
                "is plain HTTP: use https, or name its host (127.0.0.1) in JWKS_HTTP_ALLOWED_HOSTS"
            )
        );
        assert_eq!(
            jwks_url_problem("http://identity.internal/jwks.json", &[]).as_deref(),
            Some("is plain HTTP: use https, or name its host (identity.internal) in JWKS_HTTP_ALLOWED_HOSTS")
        );
        assert_eq!(
            jwks_url_problem("ftp://identity.internal/jwks.json", &allowed).as_deref(),
            Some("uses ftp: the keys must be fetched over https")
        );
        assert_eq!(
            jwks_url_problem("/jwks.json", &allowed).as_deref(),
            Some("is not a URL")
        );
    }

    #[test]
    fn host_lists_name_hosts_and_nothing_else() {
        assert_eq!(
            parse_host_list(" identity.internal, 127.0.0.1 ,[::1], ::2,,").unwrap(),
            ["identity.internal", "127.0.0.1", "::1", "::2"]
        );
        assert_eq!(parse_host_list("").unwrap(), Vec::<String>::new());
        for entry in [
            "http://identity.internal",
            "identity.internal:4001",
            "identity.internal/jwks",
            "*.internal",
            "user@identity.internal",
            "identity.internal?x",
        ] {
            let error = parse_host_list(&format!("127.0.0.1,{entry}")).unwrap_err();
            assert!(
                error.starts_with(&format!("{entry:?} is not a host name")),
                "{entry}: {error}"
            );
        }
    }
}
