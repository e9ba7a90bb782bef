//! Signed, expiring playback URLs, bound to a video and a viewer, and the rewriting of HLS
//! playlists that carries the signature to every playlist and segment a player fetches.
//!
//! # The signature
//!
//! [`sign`] gives the query of a playback URL:
//!
//! ```text
//! video=<video id>&viewer=<viewer id>&exp=<unix seconds>&scope=<path prefix>&kid=<key id>&sig=<signature>
//! ```
//!
//! where the signature is base64url (no padding) of HMAC-SHA256, under the key named by `kid`,
//! of a canonical string that length-prefixes each of key id, video id, viewer id, expiry and
//! path prefix (so no two different tuples share a string). Any change to any of them, or to
//! the signature, makes [`verify`] answer [`SignatureError::Altered`]; the signature is compared
//! in constant time (`subtle`). Values are restricted to characters that need no percent-encoding
//! in a query (ids: `A-Z a-z 0-9 . _ ~ -`; the prefix adds `/`), so there is one spelling of
//! every URL and nothing to decode.
//!
//! # One signature for the whole video
//!
//! The signature covers a path *prefix* (the `scope`: the video's HLS directory, such as
//! `/play/<video id>/hls/`), not one file: a player fetches the master playlist, then each
//! rendition's playlist and its segments, by URIs relative to the playlist. Those requests carry
//! the signed query because the server rewrites every playlist it serves ([`rewrite_playlist`]):
//! each URI gets the query of the request that fetched the playlist (as re-rendered by
//! [`Grant::query`]). This was chosen over a token in the path because it works with the
//! playlists FFmpeg writes, unchanged on disk, and with any HLS player; the cost is that
//! playlists are rewritten per request (they are small) and not cacheable across viewers.
//! Segments never reference other files, so they are served as they are.
//!
//! [`verify`] refuses a request path outside the signed prefix, and any path with `.` or `..`
//! segments, empty segments, `%` or `\`, so a path cannot climb out of the prefix.
//!
//! # Keys and rotation
//!
//! A [`Keyring`] holds the key that signs ([`Keyring::current`]) and any number of other keys
//! that still verify, each named by an id carried in the URL (`kid`). To rotate: add the new
//! key to every instance as an accepted key; then make it the current key (URLs are now signed
//! with it, while URLs signed with the old key still verify); once the longest URL lifetime has
//! passed, drop the old key. Secrets are at least [`MIN_SECRET_BYTES`] bytes (HMAC-SHA256's
//! output size: RFC 2104 §3 advises keys no shorter than it).
//!
//! Serving the files (byte ranges, caching headers, the axum handler) is in [`crate::serve`].

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use thiserror::Error;
use time::OffsetDateTime;

/// Shortest secret accepted, in bytes (32).
pub const MIN_SECRET_BYTES: usize = 32;

/// Longest key id, in characters (32).
pub const MAX_KEY_ID_CHARS: usize = 32;

/// Longest video or viewer id, in characters (128).
pub const MAX_ID_CHARS: usize = 128;

/// Longest signed path prefix, in characters (512).
pub const MAX_PREFIX_CHARS: usize = 512;

/// Longest query [`verify`] reads, in characters (4,096): well above a signed query with the
/// longest values, and small enough to bound the work a hostile request causes.
pub const MAX_QUERY_CHARS: usize = 4096;

/// Latest expiry that can be signed, in Unix seconds (99,999,999,999: the year 5138), so an
/// expiry is at most 11 digits.
pub const MAX_EXPIRY_UNIX: i64 = 99_999_999_999;

/// Length of a signature in the URL: base64url of 32 bytes, unpadded.
const SIGNATURE_CHARS: usize = 43;

/// Domain separation of the canonical string, and its version.
const CANONICAL_TAG: &str = "coursegraph-video-playback-v1";

type HmacSha256 = Hmac<Sha256>;

/// A named secret that signs or verifies playback URLs. Its `Debug` shows the id only.
#[derive(Clone)]
pub struct SigningKey {
    id: String,
    mac: HmacSha256,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A key named `id` (1 to [`MAX_KEY_ID_CHARS`] of `A-Z a-z 0-9 . _ ~ -`) with `secret`
    /// (at least [`MIN_SECRET_BYTES`] bytes; random bytes, not a password).
    ///
    /// # Errors
    /// [`KeyError::InvalidKeyId`] or [`KeyError::SecretTooShort`].
    pub fn new(id: &str, secret: &[u8]) -> Result<Self, KeyError> {
        check_id(id, MAX_KEY_ID_CHARS).map_err(|reason| KeyError::InvalidKeyId { reason })?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::SecretTooShort {
                id: id.to_owned(),
                bytes: secret.len(),
                min: MIN_SECRET_BYTES,
            });
        }
        let mac = HmacSha256::new_from_slice(secret).map_err(|_| KeyError::SecretTooShort {
            id: id.to_owned(),
            bytes: secret.len(),
            min: MIN_SECRET_BYTES,
        })?;
        Ok(Self {
            id: id.to_owned(),
            mac,
        })
    }

    /// The key's id, carried in URLs as `kid`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The signature of a canonical string, base64url without padding.
    fn signature(&self, canonical: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(canonical);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// Why a key or key ring cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The secret is shorter than [`MIN_SECRET_BYTES`].
    #[error("signing key `{id}`: the secret is {bytes} bytes; at least {min} are required")]
    SecretTooShort {
        /// The key's id.
        id: String,
        /// The secret's length in bytes.
        bytes: usize,
        /// The minimum.
        min: usize,
    },
    /// The key id is empty, too long, or has characters other than `A-Z a-z 0-9 . _ ~ -`.
    #[error("signing key id: {reason}")]
    InvalidKeyId {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two keys of a ring have the same id.
    #[error("signing key `{id}` appears twice in the key ring")]
    DuplicateKeyId {
        /// The id.
        id: String,
    },
}

/// The keys of a deployment: the one that signs, and the others that still verify (see the
/// module's docs on rotation).
#[derive(Debug, Clone)]
pub struct Keyring {
    current: SigningKey,
    accepted: Vec<SigningKey>,
}

impl Keyring {
    /// A ring that signs and verifies with `current` only.
    pub fn new(current: SigningKey) -> Self {
        Self {
            current,
            accepted: Vec::new(),
        }
    }

    /// Adds a key that verifies but does not sign (the previous key during a rotation, or the
    /// next one before it becomes current).
    ///
    /// # Errors
    /// [`KeyError::DuplicateKeyId`] when the ring already has a key of that id.
    pub fn accept(mut self, key: SigningKey) -> Result<Self, KeyError> {
        if self.key(key.id()).is_some() {
            return Err(KeyError::DuplicateKeyId { id: key.id });
        }
        self.accepted.push(key);
        Ok(self)
    }

    /// The key that signs.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// The key of id `id`, signing or accepted.
    pub fn key(&self, id: &str) -> Option<&SigningKey> {
        std::iter::once(&self.current)
            .chain(&self.accepted)
            .find(|key| key.id == id)
    }
}

/// Why [`sign`] refuses its input (a bug in the caller, not a user error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignError {
    /// The video id, viewer id or path prefix is empty, too long or has characters outside its
    /// set (see the module's docs).
    #[error("cannot sign a playback URL: {field} {reason}")]
    InvalidField {
        /// `video`, `viewer` or `scope`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The expiry is before 1970 or after [`MAX_EXPIRY_UNIX`].
    #[error("cannot sign a playback URL expiring at {unix} (Unix seconds)")]
    ExpiryOutOfRange {
        /// The expiry, in Unix seconds.
        unix: i64,
    },
}

/// Signs a playback URL with the ring's current key: the query (without `?`) to append to any
/// URL under `path_prefix`, valid until `expires_at` (whole seconds; the fraction is dropped).
///
/// `video_id` and `viewer_id` are 1 to [`MAX_ID_CHARS`] of `A-Z a-z 0-9 . _ ~ -`;
/// `path_prefix` starts and ends with `/`, is at most [`MAX_PREFIX_CHARS`] long, and has no
/// empty, `.` or `..` segment.
///
/// # Errors
/// [`SignError`] when an input is outside these rules.
pub fn sign(
    keys: &Keyring,
    video_id: &str,
    viewer_id: &str,
    expires_at: OffsetDateTime,
    path_prefix: &str,
) -> Result<String, SignError> {
    let invalid = |field| move |reason| SignError::InvalidField { field, reason };
    check_id(video_id, MAX_ID_CHARS).map_err(invalid("video"))?;
    check_id(viewer_id, MAX_ID_CHARS).map_err(invalid("viewer"))?;
    check_prefix(path_prefix).map_err(invalid("scope"))?;
    let exp = expires_at.unix_timestamp();
    if !(0..=MAX_EXPIRY_UNIX).contains(&exp) {
        return Err(SignError::ExpiryOutOfRange { unix: exp });
    }
    let key = keys.current();
    let signature = key.signature(&canonical(key.id(), video_id, viewer_id, exp, path_prefix));
    Ok(render_query(
        video_id,
        viewer_id,
        exp,
        path_prefix,
        key.id(),
        &signature,
    ))
}

/// What a verified playback URL allows: `viewer_id` may fetch files of `video_id` under
/// `scope` until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The video.
    pub video_id: String,
    /// The viewer it was issued to.
    pub viewer_id: String,
    /// When it stops being valid (whole seconds).
    pub expires_at: OffsetDateTime,
    /// The signed path prefix.
    pub scope: String,
    /// The id of the key that signed it.
    pub key_id: String,
    /// The signature, base64url.
    pub signature: String,
}

impl Grant {
    /// The signed query, as [`sign`] renders it (without the request's other parameters): what
    /// [`rewrite_playlist`] appends to a playlist's URIs.
    pub fn query(&self) -> String {
        render_query(
            &self.video_id,
            &self.viewer_id,
            self.expires_at.unix_timestamp(),
            &self.scope,
            &self.key_id,
            &self.signature,
        )
    }
}

/// Why a playback request is refused. All are answered with 403 ([`SignatureError::status`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// A parameter of the signed query is absent.
    #[error("the playback URL is not signed: `{param}` is missing")]
    Missing {
        /// The first missing parameter.
        param: &'static str,
    },
    /// A parameter is given twice, or its value is outside its character set or shape (or the
    /// query is longer than [`MAX_QUERY_CHARS`]: `param` is then `query`).
    #[error("the playback URL is malformed: `{param}` {reason}")]
    Malformed {
        /// The parameter.
        param: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The URL names a key the ring does not have (retired, or never issued here).
    #[error("the playback URL is signed with an unknown key `{kid}`")]
    UnknownKey {
        /// The key id (checked to be a well-formed id, so safe to log).
        kid: String,
    },
    /// The signature does not match the signed values: some part of the URL was changed.
    #[error("the playback URL's signature does not match; it was altered")]
    Altered,
    /// The URL's expiry has passed.
    #[error("the playback URL expired at {expired_at} (Unix seconds)")]
    Expired {
        /// The expiry, in Unix seconds.
        expired_at: i64,
    },
    /// The requested path is outside the signed prefix, or could climb out of it (`.`, `..`,
    /// empty segments, `%`, `\`).
    #[error("the requested path is outside what the playback URL signs")]
    OutsidePrefix,
}

impl SignatureError {
    /// The HTTP status to answer with: 403 Forbidden, whatever the reason (a player reacts to
    /// all of them the same way: ask the API for a new URL).
    pub fn status(&self) -> axum::http::StatusCode {
        axum::http::StatusCode::FORBIDDEN
    }
}

/// Verifies a playback request: its path (`url_path`, without the query) and its query
/// (without `?`), at time `now`. Parameters other than the signed ones are ignored (players and
/// caches add their own).
///
/// The checks run in this order, and the first failure is returned: every parameter present
/// and well-formed ([`SignatureError::Missing`], [`SignatureError::Malformed`]); the key known
/// ([`SignatureError::UnknownKey`]); the signature ([`SignatureError::Altered`]); the expiry,
/// which is exclusive ([`SignatureError::Expired`] once `now >= exp`); the path
/// ([`SignatureError::OutsidePrefix`]).
///
/// # Errors
/// A [`SignatureError`], as above.
pub fn verify(
    keys: &Keyring,
    url_path: &str,
    query: &str,
    now: OffsetDateTime,
) -> Result<Grant, SignatureError> {
    if query.len() > MAX_QUERY_CHARS {
        return Err(SignatureError::Malformed {
            param: "query",
            reason: "is too long",
        });
    }
    const PARAMS: [&str; 6] = ["video", "viewer", "exp", "scope", "kid", "sig"];
    let mut values: [Option<&str>; 6] = [None; 6];
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(at) = PARAMS.iter().position(|p| *p == name) {
            if values[at].replace(value).is_some() {
                return Err(SignatureError::Malformed {
                    param: PARAMS[at],
                    reason: "is given more than once",
                });
            }
        }
    }
    let mut present = [""; 6];
    for (at, value) in values.iter().enumerate() {
        present[at] = value.ok_or(SignatureError::Missing { param: PARAMS[at] })?;
    }
    let [video, viewer, exp, scope, kid, sig] = present;
    let malformed = |param| move |reason| SignatureError::Malformed { param, reason };
    check_id(video, MAX_ID_CHARS).map_err(malformed("video"))?;
    check_id(viewer, MAX_ID_CHARS).map_err(malformed("viewer"))?;
    let exp_unix = parse_expiry(exp).map_err(malformed("exp"))?;
    check_prefix(scope).map_err(malformed("scope"))?;
    check_id(kid, MAX_KEY_ID_CHARS).map_err(malformed("kid"))?;
    if sig.len() != SIGNATURE_CHARS
        || !sig
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(SignatureError::Malformed {
            param: "sig",
            reason: "is not a base64url HMAC-SHA256",
        });
    }

    let key = keys.key(kid).ok_or_else(|| SignatureError::UnknownKey {
        kid: kid.to_owned(),
    })?;
    // Compared as text: any change of a character is a mismatch, even one a lenient base64
    // decoder would map to the same bytes.
    let expected = key.signature(&canonical(kid, video, viewer, exp_unix, scope));
    if !bool::from(expected.as_bytes().ct_eq(sig.as_bytes())) {
        return Err(SignatureError::Altered);
    }
    if now.unix_timestamp() >= exp_unix {
        return Err(SignatureError::Expired {
            expired_at: exp_unix,
        });
    }
    if !url_path.starts_with(scope) || !is_safe_path(url_path) {
        return Err(SignatureError::OutsidePrefix);
    }
    let expires_at =
        OffsetDateTime::from_unix_timestamp(exp_unix).map_err(|_| SignatureError::Malformed {
            param: "exp",
            reason: "is out of range",
        })?;
    Ok(Grant {
        video_id: video.to_owned(),
        viewer_id: viewer.to_owned(),
        expires_at,
        scope: scope.to_owned(),
        key_id: kid.to_owned(),
        signature: sig.to_owned(),
    })
}

/// Why a playlist cannot be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlaylistError {
    /// The file does not start with `#EXTM3U`.
    #[error("not an HLS playlist: the first line is not #EXTM3U")]
    NotAPlaylist,
    /// A URI is absolute, climbs out of the playlist's directory, or has characters the
    /// signed query could not follow safely; it would escape the signature's scope or leak the
    /// signature to another host, so the playlist is not served.
    #[error("playlist line {line}: URI {reason}")]
    UnsafeUri {
        /// The 1-based line.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The query to append has characters outside those [`sign`] produces.
    #[error("the query to append is not a signed playback query")]
    InvalidQuery,
}

/// Appends `?<query>` to every URI of an HLS playlist (media or master): each URI line, and the
/// `URI="…"` attribute of tags such as `EXT-X-MAP`, `EXT-X-KEY`, `EXT-X-MEDIA` and
/// `EXT-X-I-FRAME-STREAM-INF`. Lines are rejoined with `\n` (CRLF input is accepted).
///
/// Only relative URIs below the playlist's directory are accepted (no scheme, no leading `/`,
/// no `.`/`..`/empty segment, no `?`, `#`, `%`, `\`, whitespace), which is what FFmpeg writes:
/// so every URI stays under the signed prefix and the signature never goes to another host.
///
/// # Errors
/// [`PlaylistError`]; nothing is returned half-rewritten.
pub fn rewrite_playlist(playlist: &str, query: &str) -> Result<String, PlaylistError> {
    if query.is_empty()
        || !query.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-' | b'/' | b'=' | b'&')
        })
    {
        return Err(PlaylistError::InvalidQuery);
    }
    let mut lines = playlist
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l));
    if lines.next().map(str::trim_end) != Some("#EXTM3U") {
        return Err(PlaylistError::NotAPlaylist);
    }
    let mut out = String::with_capacity(playlist.len() * 2);
    out.push_str("#EXTM3U");
    for (index, line) in lines.enumerate() {
        let number = index + 2;
        out.push('\n');
        let unsafe_uri = |reason| PlaylistError::UnsafeUri {
            line: number,
            reason,
        };
        if line.trim().is_empty() {
            out.push_str(line);
        } else if line.starts_with('#') {
            rewrite_tag(line, query, &mut out).map_err(unsafe_uri)?;
        } else {
            check_relative_uri(line).map_err(unsafe_uri)?;
            out.push_str(line);
            out.push('?');
            out.push_str(query);
        }
    }
    Ok(out)
}

/// Copies a tag line into `out`, with the query appended to its `URI="…"` attributes.
fn rewrite_tag(line: &str, query: &str, out: &mut String) -> Result<(), &'static str> {
    let mut rest = line;
    while let Some(at) = rest.find("URI=\"") {
        // The attribute named exactly `URI`, not one ending in it (`X-ASSET-URI`).
        let named_uri = at > 0 && matches!(rest.as_bytes()[at - 1], b':' | b',');
        let value_start = at + "URI=\"".len();
        out.push_str(&rest[..value_start]);
        rest = &rest[value_start..];
        if !named_uri {
            continue;
        }
        let end = rest.find('"').ok_or("has no closing quote")?;
        let uri = &rest[..end];
        check_relative_uri(uri)?;
        out.push_str(uri);
        out.push('?');
        out.push_str(query);
        rest = &rest[end..];
    }
    out.push_str(rest);
    Ok(())
}

/// Checks that a playlist URI is relative and stays below the playlist's directory.
fn check_relative_uri(uri: &str) -> Result<(), &'static str> {
    if uri.is_empty() {
        return Err("is empty");
    }
    if uri.contains(':') {
        return Err("is absolute (has a scheme)");
    }
    if uri.starts_with('/') {
        return Err("is absolute (starts with /)");
    }
    if uri
        .chars()
        .any(|c| matches!(c, '?' | '#' | '%' | '\\' | '"') || c.is_whitespace() || c.is_control())
    {
        return Err("has a query, fragment, escape, quote or whitespace");
    }
    if uri
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err("has an empty, `.` or `..` segment");
    }
    Ok(())
}

/// Whether a request path has no `.`, `..` or empty segment (after its leading `/`), and no
/// `%`, `\` or control character: what a path needs to be compared with a prefix as text.
pub(crate) fn is_safe_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    !path
        .chars()
        .any(|c| matches!(c, '%' | '\\') || c.is_control())
        && segments
            .iter()
            .enumerate()
            .all(|(i, s)| *s != "." && *s != ".." && (!s.is_empty() || i == last))
}

/// Checks an id (video, viewer, key): 1 to `max` of `A-Z a-z 0-9 . _ ~ -`.
fn check_id(id: &str, max: usize) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("is empty");
    }
    if id.len() > max {
        return Err("is too long");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
    {
        return Err("has characters other than A-Z a-z 0-9 . _ ~ -");
    }
    Ok(())
}

/// Checks a path prefix: starts and ends with `/`, ids' characters and `/` only, no empty,
/// `.` or `..` segment, at most [`MAX_PREFIX_CHARS`].
fn check_prefix(prefix: &str) -> Result<(), &'static str> {
    if prefix.len() > MAX_PREFIX_CHARS {
        return Err("is too long");
    }
    let Some(inner) = prefix
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .filter(|inner| !inner.is_empty())
    else {
        return Err("must start and end with `/` and name a directory");
    };
    if inner.split('/').any(|segment| {
        segment == "." || segment == ".." || check_id(segment, MAX_PREFIX_CHARS).is_err()
    }) {
        return Err("must be segments of A-Z a-z 0-9 . _ ~ - (no empty, `.` or `..` segment)");
    }
    Ok(())
}

/// Reads an expiry: 1 to 11 digits, no leading zero.
fn parse_expiry(exp: &str) -> Result<i64, &'static str> {
    if exp.is_empty() || exp.len() > 11 || !exp.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be Unix seconds (1 to 11 digits)");
    }
    if exp.len() > 1 && exp.starts_with('0') {
        return Err("must not have leading zeros");
    }
    exp.parse()
        .map_err(|_| "must be Unix seconds (1 to 11 digits)")
}

/// The string the signature covers: a tag, then each value prefixed by its length.
fn canonical(kid: &str, video: &str, viewer: &str, exp: i64, scope: &str) -> Vec<u8> {
    let mut out = String::from(CANONICAL_TAG);
    for value in [kid, video, viewer, &exp.to_string(), scope] {
        out.push_str(&format!("\n{}:{value}", value.len()));
    }
    out.into_bytes()
}

/// The signed query, in its one spelling.
fn render_query(video: &str, viewer: &str, exp: i64, scope: &str, kid: &str, sig: &str) -> String {
    format!("video={video}&viewer={viewer}&exp={exp}&scope={scope}&kid={kid}&sig={sig}")
}
