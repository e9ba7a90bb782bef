//! Serving playback files over HTTP behind signed URLs: the axum handler that checks a request's
//! signature ([`verify`]), rewrites playlists ([`rewrite_playlist`]) and answers with byte
//! ranges, validators and caching headers.
//!
//! - Only `GET` and `HEAD`, and only the file types a player needs ([`content_type`]); anything
//!   else under the mount is 404, so a source upload kept beside the HLS files is never served.
//! - `Range: bytes=a-b`, `bytes=a-` and `bytes=-n` are answered with 206 and `Content-Range`; a
//!   range starting past the end (or `bytes=-0`) with 416 and `Content-Range: bytes */len`. A
//!   header with several ranges, another unit or bad syntax is ignored and the whole file is
//!   served with 200, as RFC 9110 §14.2 allows (players ask for one range at a time, and
//!   multipart answers are rarely read). `If-Range` is honoured with the ETag.
//! - Every answer has `Accept-Ranges: bytes` and an `ETag`; `If-None-Match` gives 304. A file's
//!   ETag is its length and modification time (segments are written once, by rename); a
//!   playlist's is a hash of the rewritten text, since it differs per signed URL.
//! - `Cache-Control`: segments and other immutable media [`SEGMENT_CACHE_CONTROL`]; playlists,
//!   WebVTT and images [`SHORT_CACHE_CONTROL`]. Both are `private`: the URLs carry a viewer's
//!   signature, so shared caches must not hand the files to anyone else.
//!
//! This is a module of its own concern (HTTP file serving) kept under [`crate::signing`] only
//! because the crate's module list was fixed when it was written; it can move to a top-level
//! `serve` module unchanged.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use thiserror::Error;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::signing::{is_safe_path, rewrite_playlist, verify, Keyring};

/// `Cache-Control` of segments, init segments and audio: cached by the viewer for a year and
/// never revalidated (a segment's bytes never change once written).
pub const SEGMENT_CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

/// `Cache-Control` of playlists, WebVTT files and images: cached for 10 seconds, so a replaced
/// caption file or a new signed URL shows up quickly.
pub const SHORT_CACHE_CONTROL: &str = "private, max-age=10";

/// `Cache-Control` of refusals: never cached.
const NO_STORE: &str = "no-store";

/// Largest playlist served, in bytes (4 MiB: a 10-hour video in 2-second segments needs
/// under 1 MiB). A playlist is read whole to be rewritten.
pub const MAX_PLAYLIST_BYTES: u64 = 4 * 1024 * 1024;

/// Size of the chunks a file is streamed in, in bytes (64 KiB).
const CHUNK_BYTES: u64 = 64 * 1024;

/// The `Content-Type` of a file name a player may request, by its extension; `None` for any
/// other file, which is not served.
pub fn content_type(file_name: &str) -> Option<&'static str> {
    let extension = file_name.rsplit_once('.')?.1;
    Some(match extension {
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        "m4s" => "video/iso.segment",
        "mp4" => "video/mp4",
        "aac" => "audio/aac",
        "vtt" => "text/vtt; charset=utf-8",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        _ => return None,
    })
}

/// Whether a file's bytes never change once written (media), as opposed to text the service
/// may replace (playlists, captions, images).
fn is_immutable(file_name: &str) -> bool {
    matches!(
        file_name.rsplit_once('.').map(|(_, ext)| ext),
        Some("ts" | "m4s" | "mp4" | "aac")
    )
}

/// Why a [`Playback`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServeError {
    /// The mount path does not start and end with `/`, or could climb out of itself.
    #[error("playback mount `{mount}` must start and end with `/` and have no `.`, `..` or empty segment")]
    InvalidMount {
        /// The mount path given.
        mount: String,
    },
}

/// Serves the files under `root` at URL paths under `mount`: the file `<root>/<rel>` is at
/// `<mount><rel>`, and a request for it needs a URL signed for a prefix of that path.
#[derive(Debug, Clone)]
pub struct Playback {
    keys: Keyring,
    root: PathBuf,
    mount: String,
}

impl Playback {
    /// Serves `root` at `mount` (such as `/play/`), checking signatures with `keys`.
    ///
    /// # Errors
    /// [`ServeError::InvalidMount`].
    pub fn new(keys: Keyring, root: impl Into<PathBuf>, mount: &str) -> Result<Self, ServeError> {
        if !mount.ends_with('/') || !is_safe_path(mount) {
            return Err(ServeError::InvalidMount {
                mount: mount.to_owned(),
            });
        }
        Ok(Self {
            keys,
            root: root.into(),
            mount: mount.to_owned(),
        })
    }

    /// A router serving `GET` and `HEAD` under the mount with [`handler`].
    pub fn router(self: Arc<Self>) -> Router {
        let route = format!("{}{{*path}}", self.mount);
        Router::new()
            .route(&route, get(handler).head(handler))
            .with_state(self)
    }

    /// Answers one request at time `now` (see the module's docs).
    pub async fn respond(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        now: OffsetDateTime,
    ) -> Response {
        if method != Method::GET && method != Method::HEAD {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "use GET or HEAD");
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let path = uri.path();
        let grant = match verify(&self.keys, path, uri.query().unwrap_or(""), now) {
            Ok(grant) => grant,
            Err(error) => {
                tracing::debug!(path, error = %error, "playback refused");
                return plain(error.status(), &error.to_string());
            }
        };
        // `verify` checked the path is safe and under the signed scope; it must also be a file
        // of a type players need, under the mount.
        let Some(relative) = path
            .strip_prefix(self.mount.as_str())
            .filter(|rel| !rel.is_empty() && !rel.ends_with('/'))
        else {
            return not_found();
        };
        let Some(content_type) = content_type(relative) else {
            return not_found();
        };
        let file = self.root.join(relative);
        let representation = if relative.ends_with(".m3u8") {
            playlist(&file, &grant.query()).await
        } else if is_storyboard_map(relative) {
            storyboard_map(&file, &grant.query()).await
        } else {
            media(&file, relative).await
        };
        match representation {
            Ok(Some(representation)) => {
                representation
                    .respond(method == Method::HEAD, headers, content_type)
                    .await
            }
            Ok(None) => not_found(),
            Err(error) => {
                tracing::error!(file = %file.display(), error = %error, "cannot serve a playback file");
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the file cannot be served",
                )
            }
        }
    }
}

/// The axum handler of [`Playback::router`]: [`Playback::respond`] at the current time.
pub async fn handler(
    State(playback): State<Arc<Playback>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    playback
        .respond(&method, &uri, &headers, OffsetDateTime::now_utc())
        .await
}

/// What a request gets, before ranges and validators are applied.
struct Representation {
    len: u64,
    etag: String,
    cache_control: &'static str,
    source: Source,
}

enum Source {
    Memory(Bytes),
    File(tokio::fs::File),
}

/// A playlist, rewritten so its URIs carry `query`; `None` when there is no such file.
async fn playlist(file: &std::path::Path, query: &str) -> std::io::Result<Option<Representation>> {
    let Some(metadata) = file_metadata(file).await? else {
        return Ok(None);
    };
    if metadata.len() > MAX_PLAYLIST_BYTES {
        return Err(std::io::Error::other(
            "the playlist is larger than MAX_PLAYLIST_BYTES",
        ));
    }
    let text = tokio::fs::read_to_string(file).await?;
    let rewritten = rewrite_playlist(&text, query).map_err(std::io::Error::other)?;
    let digest = Sha256::digest(rewritten.as_bytes());
    Ok(Some(Representation {
        len: rewritten.len() as u64,
        etag: format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16])),
        cache_control: SHORT_CACHE_CONTROL,
        source: Source::Memory(Bytes::from(rewritten)),
    }))
}

/// Whether `relative` is a storyboard's WebVTT map (not a caption file: those are served as they are).
fn is_storyboard_map(relative: &str) -> bool {
    relative.rsplit('/').next() == Some(crate::transcode::STORYBOARD_VTT)
}

/// A storyboard's WebVTT map with the signed `query` added to each sprite reference
/// (`storyboard.jpg#xywh=…` → `storyboard.jpg?<query>#xywh=…`): a player resolves those relative
/// to the map and would otherwise ask for the sprite unsigned. `None` when there is no such file.
async fn storyboard_map(
    file: &std::path::Path,
    query: &str,
) -> std::io::Result<Option<Representation>> {
    let Some(metadata) = file_metadata(file).await? else {
        return Ok(None);
    };
    if metadata.len() > MAX_PLAYLIST_BYTES {
        return Err(std::io::Error::other(
            "the storyboard map is larger than MAX_PLAYLIST_BYTES",
        ));
    }
    let text = tokio::fs::read_to_string(file).await?;
    let sprite = crate::transcode::STORYBOARD_SPRITE;
    let mut rewritten = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        match line.strip_prefix(sprite) {
            Some(rest) if rest.starts_with('#') || rest.trim_end().is_empty() => {
                rewritten.push_str(sprite);
                rewritten.push('?');
                rewritten.push_str(query);
                rewritten.push_str(rest);
            }
            _ => rewritten.push_str(line),
        }
    }
    let digest = Sha256::digest(rewritten.as_bytes());
    Ok(Some(Representation {
        len: rewritten.len() as u64,
        etag: format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16])),
        cache_control: SHORT_CACHE_CONTROL,
        source: Source::Memory(Bytes::from(rewritten)),
    }))
}

/// A file served as it is; `None` when there is no such file.
async fn media(file: &std::path::Path, name: &str) -> std::io::Result<Option<Representation>> {
    let Some(metadata) = file_metadata(file).await? else {
        return Ok(None);
    };
    let modified = metadata
        .modified()
        .ok()
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_nanos());
    let handle = match tokio::fs::File::open(file).await {
        Ok(handle) => handle,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok(Some(Representation {
        len: metadata.len(),
        etag: format!("\"{:x}-{:x}\"", metadata.len(), modified),
        cache_control: if is_immutable(name) {
            SEGMENT_CACHE_CONTROL
        } else {
            SHORT_CACHE_CONTROL
        },
        source: Source::File(handle),
    }))
}

/// A regular file's metadata; `None` when it is missing or not a regular file.
async fn file_metadata(file: &std::path::Path) -> std::io::Result<Option<std::fs::Metadata>> {
    match tokio::fs::metadata(file).await {
        Ok(metadata) if metadata.is_file() => Ok(Some(metadata)),
        Ok(_) => Ok(None),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// What part of a representation a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// The whole representation (no `Range`, or one that is ignored).
    Full,
    /// Bytes `start..=end`, both within the representation.
    Part {
        /// The first byte.
        start: u64,
        /// The last byte (inclusive).
        end: u64,
    },
    /// A range that no byte of the representation satisfies (416).
    Unsatisfiable,
}

impl ByteRange {
    /// Reads a `Range` header's value for a representation of `len` bytes (see the module's
    /// docs for what is ignored).
    pub fn parse(value: &str, len: u64) -> Self {
        let Some(spec) = value.trim().strip_prefix("bytes=") else {
            return Self::Full;
        };
        if spec.contains(',') {
            return Self::Full;
        }
        let Some((first, last)) = spec.trim().split_once('-') else {
            return Self::Full;
        };
        // Digits only (u64's parser would take a `+`); saturating, so a huge number is just
        // past the end.
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| {
                s.bytes().fold(0u64, |n, b| {
                    n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
                })
            })
        };
        let (first, last) = (first.trim(), last.trim());
        match (number(first), number(last)) {
            (None, Some(suffix)) if first.is_empty() => {
                if suffix == 0 || len == 0 {
                    Self::Unsatisfiable
                } else {
                    Self::Part {
                        start: len.saturating_sub(suffix),
                        end: len - 1,
                    }
                }
            }
            (Some(start), end) if end.is_some() || last.is_empty() => {
                let end = end.unwrap_or(u64::MAX);
                if end < start {
                    Self::Full
                } else if start >= len {
                    Self::Unsatisfiable
                } else {
                    Self::Part {
                        start,
                        end: end.min(len - 1),
                    }
                }
            }
            _ => Self::Full,
        }
    }
}

/// Whether an `If-None-Match` value matches `etag` (weak comparison, RFC 9110 §13.1.2).
fn none_match(value: &str, etag: &str) -> bool {
    value.trim() == "*"
        || value
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == etag)
}

impl Representation {
    async fn respond(
        self,
        head: bool,
        request: &HeaderMap,
        content_type: &'static str,
    ) -> Response {
        let header_text = |name| {
            request
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(self.cache_control),
        );
        if let Ok(etag) = HeaderValue::from_str(&self.etag) {
            headers.insert(header::ETAG, etag);
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );

        if header_text(header::IF_NONE_MATCH).is_some_and(|v| none_match(v, &self.etag)) {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            return response;
        }
        // `If-Range` with another validator: the file changed, so send it whole.
        let range_applies = header_text(header::IF_RANGE).is_none_or(|v| v.trim() == self.etag);
        let range = match header_text(header::RANGE) {
            Some(value) if range_applies => ByteRange::parse(value, self.len),
            _ => ByteRange::Full,
        };
        let (start, end) = match range {
            ByteRange::Full if self.len == 0 => (0, None),
            ByteRange::Full => (0, Some(self.len - 1)),
            ByteRange::Part { start, end } => {
                *response.status_mut() = StatusCode::PARTIAL_CONTENT;
                let content_range = format!("bytes {start}-{end}/{}", self.len);
                if let Ok(value) = HeaderValue::from_str(&content_range) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                (start, Some(end))
            }
            ByteRange::Unsatisfiable => {
                *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
                let content_range = format!("bytes */{}", self.len);
                if let Ok(value) = HeaderValue::from_str(&content_range) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return response;
            }
        };
        let count = end.map_or(0, |end| end - start + 1);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
        if head || count == 0 {
            return response;
        }
        let body = match self.source {
            Source::Memory(bytes) => {
                // Both bounds are within `len`, which is the length of `bytes`.
                Body::from(bytes.slice(start as usize..(start + count) as usize))
            }
            Source::File(mut file) => match file.seek(SeekFrom::Start(start)).await {
                Ok(_) => file_body(file, count),
                Err(error) => {
                    tracing::error!(error = %error, "cannot seek in a playback file");
                    return plain(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the file cannot be served",
                    );
                }
            },
        };
        *response.body_mut() = body;
        response
    }
}

/// Streams `count` bytes of `file` from where it stands, in chunks of [`CHUNK_BYTES`]. A file
/// shorter than promised ends the stream with an error, so the client sees a broken response
/// rather than a short one that looks complete.
fn file_body(file: tokio::fs::File, count: u64) -> Body {
    let chunks = futures_util::stream::unfold((file, count), |(mut file, remaining)| async move {
        if remaining == 0 {
            return None;
        }
        // At most CHUNK_BYTES, so the cast cannot truncate.
        let mut buffer = vec![0u8; remaining.min(CHUNK_BYTES) as usize];
        match file.read(&mut buffer).await {
            Ok(0) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file shrank while being served",
                )),
                (file, 0),
            )),
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok(Bytes::from(buffer)), (file, remaining - read as u64)))
            }
            Err(error) => Some((Err(error), (file, 0))),
        }
    });
    Body::from_stream(chunks)
}

/// A short plain-text answer that is never cached.
fn plain(status: StatusCode, message: &str) -> Response {
    let mut response = Response::new(Body::from(format!("{message}\n")));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    response
}

fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "no such file")
}
