//! Resumable uploads over tus 1.0.0 (<https://tus.io/protocols/resumable-upload>): an axum
//! [`Router`] built by [`router`] over a [`Storage`] and an [`UploadAuthorizer`].
//!
//! Routes, relative to where the router is nested (e.g. `/uploads`):
//!
//! | request | answer |
//! | --- | --- |
//! | `OPTIONS /`, `OPTIONS /{id}` | 204: `Tus-Version`, `Tus-Extension`, `Tus-Max-Size`, `Tus-Checksum-Algorithm` |
//! | `POST /` (creation, creation-with-upload) | 201 and `Location` (plus `Upload-Offset` when a body came along) |
//! | `HEAD /{id}` | 200: `Upload-Offset`, `Upload-Length`, `Upload-Metadata`, `Cache-Control: no-store` |
//! | `PATCH /{id}` (checksum) | 204 and the new `Upload-Offset` |
//! | `DELETE /{id}` (termination) | 204; the upload is then 404 |
//!
//! Every response carries `Tus-Resumable: 1.0.0`; every request but `OPTIONS` must too (412
//! otherwise). Errors are `text/plain` messages:
//!
//! | status | when |
//! | --- | --- |
//! | 400 | a header is missing or malformed; a request body interrupted (its bytes kept, see below) |
//! | 401 / 403 | the [`UploadAuthorizer`] refuses (nothing is created or changed) |
//! | 404 | no such upload: also any id that is not an [`UploadId`] (`../x` never reaches the disk) |
//! | 409 | `Upload-Offset` differs from the upload's offset (the answer carries the right one) |
//! | 413 | `Upload-Length` above [`TusConfig::max_size`]; a `PATCH` that would pass `Upload-Length` |
//! | 415 | `PATCH` without `Content-Type: application/offset+octet-stream`; metadata `filetype` not `video/*`; first bytes not a video container (see [`sniff`]) |
//! | 423 | another request holds the upload and would not let go within [`TusConfig::lock_timeout`] |
//! | 460 | the body does not match `Upload-Checksum` (nothing appended) |
//!
//! # Durability and interruptions
//!
//! A `PATCH` body is written as it streams, by a task of its own (so it finishes even when the
//! client's connection, and with it the handler, is dropped). Bytes are acknowledged only after
//! they are fsync'd ([`Appender::commit`]): at the end of the body, every
//! [`TusConfig::checkpoint_bytes`] during it, and when the body breaks off (a dropped connection):
//! the client resumes from `HEAD`'s offset without re-sending a byte. A `PATCH` with
//! `Upload-Checksum` is all or nothing: it is acknowledged only if its whole body arrives and
//! matches, since a part cannot be checked.
//!
//! One request at a time works on an upload. A request that finds another at work waits up to
//! [`TusConfig::lock_grace`] for it to end by itself, then asks it to stop (a `PATCH` keeps what
//! it received, as if its connection had dropped: the usual case is a client that resumes while
//! the server has not yet noticed its old connection is dead), up to [`TusConfig::lock_timeout`].
//! The serialisation is per process: run one uploader per storage root.
//!
//! # Completion
//!
//! The request that acknowledges the last byte marks the upload finished
//! ([`Storage::finish_upload`]) and then calls the [`CompletionHook`], once: later requests find
//! it finished. If finishing fails, the next `PATCH` (at the final offset, with an empty body)
//! tries again, and the hook is still called once.
//!
//! Not implemented: `Upload-Defer-Length`, the expiration and concatenation extensions,
//! `X-HTTP-Method-Override`, CORS (the gateway's concern).

mod headers;
mod sniff;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{head, post};
use axum::Router;
use futures_util::StreamExt;
use thiserror::Error;
use tokio::sync::{Notify, OwnedMutexGuard};

use crate::storage::{Appender, Metadata, NewUpload, Storage, StorageError, UploadId, UploadInfo};
use headers::{Checksum, Hasher};

pub use headers::{ChecksumAlgorithm, MAX_METADATA_PAIRS};
pub use sniff::{sniff, Container, Sniff, SNIFF_BYTES};

/// The protocol version this router speaks, in `Tus-Resumable` and `Tus-Version`.
pub const TUS_VERSION: &str = "1.0.0";

/// The extensions listed in `Tus-Extension`.
pub const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum";

/// The media type of `PATCH` bodies.
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// `Tus-Resumable`.
pub const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
/// `Tus-Version`.
pub const TUS_VERSION_HEADER: HeaderName = HeaderName::from_static("tus-version");
/// `Tus-Extension`.
pub const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
/// `Tus-Max-Size`.
pub const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
/// `Tus-Checksum-Algorithm`.
pub const TUS_CHECKSUM_ALGORITHM: HeaderName = HeaderName::from_static("tus-checksum-algorithm");
/// `Upload-Offset`.
pub const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
/// `Upload-Length`.
pub const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
/// `Upload-Metadata`.
pub const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
/// `Upload-Checksum`.
pub const UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");
/// `Upload-Defer-Length` (refused: the length must be known at creation).
pub const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");

/// How often a waiting request repeats its request that the holder stop.
const RELEASE_RETRY: Duration = Duration::from_millis(100);

/// Limits and timings of the router.
#[derive(Debug, Clone)]
pub struct TusConfig {
    /// Largest `Upload-Length` accepted, in bytes (`Tus-Max-Size`). Default 4 GiB.
    pub max_size: u64,
    /// The path the router is nested at, for `Location` (`{location_prefix}/{id}`). Default
    /// `/uploads`.
    pub location_prefix: String,
    /// Longest `Upload-Metadata` header accepted, in bytes (at most [`MAX_METADATA_PAIRS`]
    /// pairs). Default 4 KiB.
    pub max_metadata_bytes: usize,
    /// During a `PATCH` without checksum, bytes are made durable and acknowledged every this
    /// many bytes, so a crash mid-request loses less. Default 8 MiB.
    pub checkpoint_bytes: u64,
    /// How long a request waits for the request holding its upload to end by itself before
    /// asking it to stop. Default 2 s.
    pub lock_grace: Duration,
    /// How long it then waits for the holder to stop before answering 423. Default 10 s.
    pub lock_timeout: Duration,
}

impl Default for TusConfig {
    fn default() -> Self {
        Self {
            max_size: 4 * 1024 * 1024 * 1024,
            location_prefix: "/uploads".into(),
            max_metadata_bytes: 4 * 1024,
            checkpoint_bytes: 8 * 1024 * 1024,
            lock_grace: Duration::from_secs(2),
            lock_timeout: Duration::from_secs(10),
        }
    }
}

/// An [`UploadAuthorizer`]'s refusal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    /// The request does not say who sends it, or not credibly (401). The message is shown to
    /// the client.
    #[error("{0}")]
    Unauthenticated(String),
    /// The sender may not do this (403). The message is shown to the client.
    #[error("{0}")]
    Forbidden(String),
}

/// Decides who may upload: implemented by the subgraph (e.g. only the lesson's instructors or
/// an admin may create an upload for `lessonId`; only its creator may continue it).
pub trait UploadAuthorizer: Send + Sync + 'static {
    /// Whether the request (its `headers`) may create an upload with `metadata`; if so, who
    /// owns it (recorded with the upload, given back in [`UploadInfo::owner`]).
    ///
    /// # Errors
    /// An [`AuthError`]: the request is answered 401 or 403 and nothing is created.
    fn authorize_create(
        &self,
        headers: &HeaderMap,
        metadata: &Metadata,
    ) -> impl Future<Output = Result<String, AuthError>> + Send;

    /// Whether the request may read, continue or delete `upload` (typically: it comes from
    /// `upload.owner`).
    ///
    /// # Errors
    /// An [`AuthError`]: the request is answered 401 or 403 and nothing changes.
    fn authorize_access(
        &self,
        headers: &HeaderMap,
        upload: &UploadInfo,
    ) -> impl Future<Output = Result<(), AuthError>> + Send;
}

/// An upload whose last byte has arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedUpload {
    /// Its final state (`offset == length`, `finished`).
    pub info: UploadInfo,
    /// The local file holding its bytes (from [`Storage::finish_upload`]).
    pub path: PathBuf,
}

/// Called once per upload, when its last byte has been acknowledged: the subgraph enqueues
/// the probe and transcode job here. It runs inside the request; it should hand the work on
/// (a channel, a queue) rather than do it. Any `Fn(CompletedUpload)` is one.
pub trait CompletionHook: Send + Sync + 'static {
    /// The upload is complete.
    fn upload_completed(&self, upload: CompletedUpload);
}

impl<F> CompletionHook for F
where
    F: Fn(CompletedUpload) + Send + Sync + 'static,
{
    fn upload_completed(&self, upload: CompletedUpload) {
        self(upload);
    }
}

/// Why a tus request was refused; each variant is one status (see the module's table).
#[derive(Debug, Error)]
pub enum TusError {
    /// `Tus-Resumable` is missing or not `1.0.0` (412, with `Tus-Version`).
    #[error("Tus-Resumable: 1.0.0 is required")]
    UnsupportedVersion,
    /// No such upload, or not an upload id (404).
    #[error("no such upload")]
    NotFound,
    /// A required header is missing (400).
    #[error("the {0} header is required")]
    MissingHeader(&'static str),
    /// A header is malformed (400).
    #[error("{name} {reason}")]
    InvalidHeader {
        /// The header.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A body without `Content-Type: application/offset+octet-stream` (415).
    #[error("Content-Type must be application/offset+octet-stream")]
    UnsupportedContentType,
    /// Metadata `filetype` is missing or not `video/*` (415).
    #[error("Upload-Metadata must name a video filetype (video/*)")]
    NotVideoType,
    /// The first bytes are not a video container (415; nothing of the request appended).
    #[error("the file is not a video this service takes (MP4/MOV, Matroska/WebM or MPEG-TS)")]
    NotVideoContent,
    /// `Upload-Length` above the maximum (413).
    #[error("Upload-Length {length} exceeds the maximum upload size of {max} bytes")]
    TooLarge {
        /// The declared length, in bytes.
        length: u64,
        /// [`TusConfig::max_size`].
        max: u64,
    },
    /// The request would take the upload past its `Upload-Length` (413). Nothing of the
    /// request is appended, except, for a body without `Content-Length` (found out only while
    /// streaming), what was acknowledged at a checkpoint before.
    #[error("the request would take the upload past its Upload-Length of {length} bytes")]
    ExceedsLength {
        /// The upload's length, in bytes.
        length: u64,
    },
    /// `Upload-Offset` is not the upload's offset (409, with the right `Upload-Offset`).
    #[error("Upload-Offset {given} does not match the upload's offset {current}")]
    OffsetMismatch {
        /// The upload's offset.
        current: u64,
        /// The request's.
        given: u64,
    },
    /// The body's digest differs from `Upload-Checksum` (460; nothing appended).
    #[error("the body does not match Upload-Checksum; nothing was appended")]
    ChecksumMismatch,
    /// Another request holds the upload (423).
    #[error("another request is working on this upload; try again")]
    Locked,
    /// The authorizer does not know who sends the request (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The authorizer refuses the sender (403).
    #[error("{0}")]
    Forbidden(String),
    /// The body broke off, or another request asked this one to stop (400, with the
    /// `Upload-Offset` to resume from).
    #[error("the request body was interrupted; {kept} of its bytes were kept, resume at offset {offset}")]
    Interrupted {
        /// Bytes of this request acknowledged.
        kept: u64,
        /// The upload's offset now.
        offset: u64,
    },
    /// Storage failed (500; the message is logged, not shown).
    #[error("storage failed")]
    Storage(#[source] StorageError),
    /// The task writing the body failed (500).
    #[error("the upload task failed")]
    Task,
}

impl TusError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnsupportedVersion => StatusCode::PRECONDITION_FAILED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MissingHeader(_) | Self::InvalidHeader { .. } | Self::Interrupted { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::UnsupportedContentType | Self::NotVideoType | Self::NotVideoContent => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::TooLarge { .. } | Self::ExceedsLength { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::OffsetMismatch { .. } => StatusCode::CONFLICT,
            // tus's own status for the checksum extension.
            Self::ChecksumMismatch => StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
            Self::Locked => StatusCode::LOCKED,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Storage(_) | Self::Task => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StorageError> for TusError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound | StorageError::InvalidId { .. } => Self::NotFound,
            StorageError::OffsetMismatch { current, given } => {
                Self::OffsetMismatch { current, given }
            }
            StorageError::ExceedsLength { length, .. } => Self::ExceedsLength { length },
            StorageError::Busy => Self::Locked,
            other => Self::Storage(other),
        }
    }
}

impl From<AuthError> for TusError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthenticated(message) => Self::Unauthenticated(message),
            AuthError::Forbidden(message) => Self::Forbidden(message),
        }
    }
}

impl IntoResponse for TusError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            tracing::error!(error = %ErrorChain(&self), "tus request failed");
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        let mut response = (
            status,
            [(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            message,
        )
            .into_response();
        let headers = response.headers_mut();
        match self {
            Self::UnsupportedVersion => {
                headers.insert(TUS_VERSION_HEADER, HeaderValue::from_static(TUS_VERSION));
            }
            Self::OffsetMismatch {
                current: offset, ..
            }
            | Self::Interrupted { offset, .. } => {
                headers.insert(UPLOAD_OFFSET, HeaderValue::from(offset));
            }
            _ => {}
        }
        response
    }
}

/// Shows an error with its sources: `storage failed: syncing /x: No space left on device`.
struct ErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

/// The tus endpoints over `storage`, asking `authorizer` who may do what, calling `hook` when
/// an upload completes. Nest it where clients reach it and say where in
/// [`TusConfig::location_prefix`]:
///
/// ```no_run
/// # use std::sync::Arc;
/// # use coursegraph_video::storage::LocalStorage;
/// # use coursegraph_video::tus::{self, TusConfig, UploadAuthorizer};
/// # async fn doc<A: UploadAuthorizer>(authorizer: A) -> Result<(), Box<dyn std::error::Error>> {
/// let storage = Arc::new(LocalStorage::open("/var/lib/coursegraph/video").await?);
/// let (jobs, _queue) = tokio::sync::mpsc::unbounded_channel();
/// // Hand the work on: the hook runs inside the request that completed the upload.
/// let hook = move |done: tus::CompletedUpload| {
///     let _ = jobs.send(done);
/// };
/// let config = TusConfig {
///     location_prefix: "/uploads".into(),
///     ..TusConfig::default()
/// };
/// let app: axum::Router = axum::Router::new().nest(
///     "/uploads",
///     tus::router(storage, Arc::new(authorizer), Arc::new(hook), config),
/// );
/// # Ok(()) }
/// ```
pub fn router<S, A>(
    storage: Arc<S>,
    authorizer: Arc<A>,
    hook: Arc<dyn CompletionHook>,
    config: TusConfig,
) -> Router
where
    S: Storage,
    A: UploadAuthorizer,
{
    let tus = Arc::new(Tus {
        storage,
        authorizer,
        hook,
        config,
        locks: UploadLocks::default(),
    });
    Router::new()
        .route("/", post(create::<S, A>).options(options::<S, A>))
        .route(
            "/{id}",
            head(head_upload::<S, A>)
                .patch(patch_upload::<S, A>)
                .delete(delete_upload::<S, A>)
                .options(options::<S, A>),
        )
        .layer(middleware::from_fn(tus_resumable))
        .with_state(tus)
}

/// What every handler reaches.
struct Tus<S, A> {
    storage: Arc<S>,
    authorizer: Arc<A>,
    hook: Arc<dyn CompletionHook>,
    config: TusConfig,
    locks: UploadLocks,
}

impl<S: Storage, A: UploadAuthorizer> Tus<S, A> {
    /// The upload, if the request may touch it.
    async fn authorized(&self, id: &UploadId, headers: &HeaderMap) -> Result<UploadInfo, TusError> {
        let info = self.storage.upload_info(id).await?;
        self.authorizer.authorize_access(headers, &info).await?;
        Ok(info)
    }

    async fn lock(&self, id: &UploadId) -> Result<LockGuard, TusError> {
        self.locks
            .acquire(id, self.config.lock_grace, self.config.lock_timeout)
            .await
    }

    fn location(&self, id: &UploadId) -> Result<HeaderValue, TusError> {
        let prefix = self.config.location_prefix.trim_end_matches('/');
        HeaderValue::try_from(format!("{prefix}/{id}")).map_err(|_| TusError::Task)
    }
}

/// Requires `Tus-Resumable: 1.0.0` on every request but `OPTIONS`, and puts it on every
/// response.
async fn tus_resumable(request: Request, next: Next) -> Response {
    let speaks_tus = request.method() == Method::OPTIONS
        || request
            .headers()
            .get(TUS_RESUMABLE)
            .is_some_and(|v| v == TUS_VERSION);
    let mut response = if speaks_tus {
        next.run(request).await
    } else {
        TusError::UnsupportedVersion.into_response()
    };
    response
        .headers_mut()
        .insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    response
}

async fn options<S: Storage, A: UploadAuthorizer>(State(tus): State<Arc<Tus<S, A>>>) -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (TUS_VERSION_HEADER, HeaderValue::from_static(TUS_VERSION)),
            (TUS_EXTENSION, HeaderValue::from_static(TUS_EXTENSIONS)),
            (TUS_MAX_SIZE, HeaderValue::from(tus.config.max_size)),
            (
                TUS_CHECKSUM_ALGORITHM,
                HeaderValue::from_static(ChecksumAlgorithm::SUPPORTED),
            ),
        ],
    )
        .into_response()
}

async fn create<S: Storage, A: UploadAuthorizer>(
    State(tus): State<Arc<Tus<S, A>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TusError> {
    if headers.contains_key(UPLOAD_DEFER_LENGTH) {
        return Err(TusError::InvalidHeader {
            name: "Upload-Defer-Length",
            reason: "is not supported: send Upload-Length",
        });
    }
    let length = headers::parse_u64(
        "Upload-Length",
        headers
            .get(UPLOAD_LENGTH)
            .ok_or(TusError::MissingHeader("Upload-Length"))?
            .as_bytes(),
    )?;
    if length > tus.config.max_size {
        return Err(TusError::TooLarge {
            length,
            max: tus.config.max_size,
        });
    }
    if length == 0 {
        return Err(TusError::InvalidHeader {
            name: "Upload-Length",
            reason: "must be at least 1: an empty file is not a video",
        });
    }
    let metadata = match headers.get(UPLOAD_METADATA) {
        Some(value) => headers::parse_metadata(value.as_bytes(), tus.config.max_metadata_bytes)?,
        None => Metadata::new(),
    };
    if !is_video_type(metadata.get("filetype")) {
        return Err(TusError::NotVideoType);
    }
    // creation-with-upload: a body typed as tus bytes is the upload's first bytes; any other
    // body is ignored, as plain creation does.
    let upload = if is_offset_stream(&headers) {
        Some(PatchHeaders::parse(&headers, 0)?)
    } else {
        None
    };
    if let Some(upload) = &upload {
        if upload.content_length.is_some_and(|n| n > length) {
            return Err(TusError::ExceedsLength { length });
        }
    }
    let owner = tus.authorizer.authorize_create(&headers, &metadata).await?;
    let info = tus
        .storage
        .create_upload(NewUpload {
            length,
            metadata,
            owner,
        })
        .await?;
    let location = tus.location(&info.id)?;
    tracing::info!(upload = %info.id, length, "tus upload created");
    let Some(upload) = upload else {
        return Ok((StatusCode::CREATED, [(LOCATION, location)]).into_response());
    };
    let lock = tus.lock(&info.id).await?;
    match run_patch(tus, info.id, upload, body, lock).await {
        Ok(info) => Ok((
            StatusCode::CREATED,
            [
                (LOCATION, location),
                (UPLOAD_OFFSET, HeaderValue::from(info.offset)),
            ],
        )
            .into_response()),
        Err(error) => {
            // The upload exists: tell the client where, so it can resume or delete it.
            let mut response = error.into_response();
            response.headers_mut().insert(LOCATION, location);
            Ok(response)
        }
    }
}

async fn head_upload<S: Storage, A: UploadAuthorizer>(
    State(tus): State<Arc<Tus<S, A>>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    let id = upload_id(path)?;
    tus.authorized(&id, &headers).await?;
    // The offset once any request at work on the upload has settled.
    let _lock = tus.lock(&id).await?;
    let info = tus.storage.upload_info(&id).await?;
    let mut response = (
        StatusCode::OK,
        [
            (UPLOAD_OFFSET, HeaderValue::from(info.offset)),
            (UPLOAD_LENGTH, HeaderValue::from(info.length)),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response();
    if !info.metadata.is_empty() {
        if let Ok(value) = HeaderValue::try_from(headers::encode_metadata(&info.metadata)) {
            response.headers_mut().insert(UPLOAD_METADATA, value);
        }
    }
    Ok(response)
}

async fn patch_upload<S: Storage, A: UploadAuthorizer>(
    State(tus): State<Arc<Tus<S, A>>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TusError> {
    let id = upload_id(path)?;
    let offset = headers::parse_u64(
        "Upload-Offset",
        headers
            .get(UPLOAD_OFFSET)
            .ok_or(TusError::MissingHeader("Upload-Offset"))?
            .as_bytes(),
    )?;
    let patch = PatchHeaders::parse(&headers, offset)?;
    tus.authorized(&id, &headers).await?;
    let lock = tus.lock(&id).await?;
    let info = run_patch(tus, id, patch, body, lock).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(UPLOAD_OFFSET, HeaderValue::from(info.offset))],
    )
        .into_response())
}

async fn delete_upload<S: Storage, A: UploadAuthorizer>(
    State(tus): State<Arc<Tus<S, A>>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    let id = upload_id(path)?;
    tus.authorized(&id, &headers).await?;
    let _lock = tus.lock(&id).await?;
    tus.storage.delete_upload(&id).await?;
    tracing::info!(upload = %id, "tus upload terminated");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The id in the path, or 404 for anything that is not one (a traversal attempt included).
fn upload_id(path: Result<Path<String>, PathRejection>) -> Result<UploadId, TusError> {
    let Ok(Path(raw)) = path else {
        return Err(TusError::NotFound);
    };
    UploadId::parse(&raw).map_err(|_| TusError::NotFound)
}

/// `filetype` names a video media type: `video/<subtype>`, parameters allowed.
fn is_video_type(filetype: Option<&String>) -> bool {
    let Some(filetype) = filetype else {
        return false;
    };
    let essence = filetype.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("video")
        && !subtype.is_empty()
        && subtype.len() <= 127
        && subtype
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
}

/// What a request carrying upload bytes says about them.
struct PatchHeaders {
    offset: u64,
    checksum: Option<Checksum>,
    content_length: Option<u64>,
}

/// `Content-Type` is `application/offset+octet-stream` (parameters and case aside).
fn is_offset_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM))
}

impl PatchHeaders {
    fn parse(headers: &HeaderMap, offset: u64) -> Result<Self, TusError> {
        if !is_offset_stream(headers) {
            return Err(TusError::UnsupportedContentType);
        }
        let checksum = headers
            .get(UPLOAD_CHECKSUM)
            .map(|v| headers::parse_checksum(v.as_bytes()))
            .transpose()?;
        let content_length = headers
            .get(CONTENT_LENGTH)
            .map(|v| headers::parse_u64("Content-Length", v.as_bytes()))
            .transpose()?;
        Ok(Self {
            offset,
            checksum,
            content_length,
        })
    }
}

/// Appends a request's body to upload `id` under `lock`, then completes the upload if its last
/// byte arrived. The work runs in a task of its own, which owns the lock: if the client goes
/// away and the handler is dropped, the bytes received are still acknowledged.
async fn run_patch<S: Storage, A: UploadAuthorizer>(
    tus: Arc<Tus<S, A>>,
    id: UploadId,
    patch: PatchHeaders,
    body: Body,
    lock: LockGuard,
) -> Result<UploadInfo, TusError> {
    let info = tus.storage.upload_info(&id).await?;
    if patch.offset != info.offset {
        return Err(TusError::OffsetMismatch {
            current: info.offset,
            given: patch.offset,
        });
    }
    if patch
        .content_length
        .is_some_and(|n| info.offset.saturating_add(n) > info.length)
    {
        return Err(TusError::ExceedsLength {
            length: info.length,
        });
    }
    let need = usize::try_from(info.length)
        .unwrap_or(usize::MAX)
        .min(SNIFF_BYTES);
    let prefix = if info.offset < need as u64 {
        Some(tus.storage.upload_prefix(&id, need).await?.to_vec())
    } else {
        None
    };
    let task = tokio::spawn(async move {
        let pumped = pump(
            &*tus.storage,
            &info,
            patch.checksum,
            prefix,
            body,
            &lock,
            &tus.config,
        )
        .await;
        let (info, interrupted) = match pumped {
            Ok(pumped) => pumped,
            Err(error) => return Err(error),
        };
        let info = complete(&tus, info).await?;
        drop(lock);
        match interrupted {
            Some(kept) => Err(TusError::Interrupted {
                kept,
                offset: info.offset,
            }),
            None => Ok(info),
        }
    });
    task.await.map_err(|_| TusError::Task)?
}

/// If every byte has arrived and the upload is not yet finished: finishes it and calls the
/// hook (once: the upload is finished before the hook is called, under the upload's lock).
async fn complete<S: Storage, A: UploadAuthorizer>(
    tus: &Tus<S, A>,
    info: UploadInfo,
) -> Result<UploadInfo, TusError> {
    if !info.is_complete() || info.finished {
        return Ok(info);
    }
    let path = tus.storage.finish_upload(&info.id).await?;
    let info = UploadInfo {
        finished: true,
        ..info
    };
    tracing::info!(upload = %info.id, length = info.length, "tus upload complete");
    tus.hook.upload_completed(CompletedUpload {
        info: info.clone(),
        path,
    });
    Ok(info)
}

/// How the body ended.
enum End {
    /// All of it arrived.
    Finished,
    /// It broke off (the connection dropped).
    Broken,
    /// Another request asked this one to stop.
    Released,
}

/// Streams `body` into the upload. Returns the new state and, when the body did not arrive
/// whole, how many of its bytes were kept.
async fn pump<S: Storage>(
    storage: &S,
    info: &UploadInfo,
    checksum: Option<Checksum>,
    mut prefix: Option<Vec<u8>>,
    body: Body,
    lock: &LockGuard,
    config: &TusConfig,
) -> Result<(UploadInfo, Option<u64>), TusError> {
    let mut appender = storage.begin_append(&info.id, info.offset).await?;
    let mut hasher = checksum.as_ref().map(|c| Hasher::new(c.algorithm));
    let remaining = info.length - info.offset;
    let need = usize::try_from(info.length)
        .unwrap_or(usize::MAX)
        .min(SNIFF_BYTES);
    let mut received = 0u64;
    let mut stream = body.into_data_stream();
    // Registered before the first chunk is awaited, so no request to stop is missed.
    let released = lock.released();
    tokio::pin!(released);
    let end = loop {
        let chunk = tokio::select! {
            biased;
            () = &mut released => break End::Released,
            next = stream.next() => match next {
                Some(Ok(chunk)) => chunk,
                Some(Err(_)) => break End::Broken,
                None => break End::Finished,
            },
        };
        let accepted = async {
            let len = chunk.len() as u64;
            if received + len > remaining {
                return Err(TusError::ExceedsLength {
                    length: info.length,
                });
            }
            if let Some(hasher) = hasher.as_mut() {
                hasher.update(&chunk);
            }
            if let Some(seen) = prefix.as_mut() {
                let take = need.saturating_sub(seen.len()).min(chunk.len());
                seen.extend_from_slice(&chunk[..take]);
                match sniff(seen, info.length) {
                    Sniff::NotVideo => return Err(TusError::NotVideoContent),
                    Sniff::Video(_) => prefix = None,
                    Sniff::NeedMore => {}
                }
            }
            appender.write(&chunk).await?;
            received += len;
            // A checksummed body is all or nothing; an unsniffed one not yet known to be video.
            if hasher.is_none() && prefix.is_none() && appender.pending() >= config.checkpoint_bytes
            {
                appender.commit().await?;
            }
            Ok(())
        }
        .await;
        if let Err(error) = accepted {
            discard(appender).await;
            return Err(error);
        }
    };
    match (end, hasher) {
        (End::Finished, Some(hasher)) => {
            let matches = checksum.is_some_and(|c| hasher.matches(&c.digest));
            if !matches {
                discard(appender).await;
                return Err(TusError::ChecksumMismatch);
            }
        }
        (End::Finished, None) => {}
        (End::Broken | End::Released, Some(_)) => {
            // Part of a checksummed body cannot be checked: none of it is kept.
            let offset = appender.offset();
            discard(appender).await;
            return Ok((
                UploadInfo {
                    offset,
                    ..info.clone()
                },
                Some(0),
            ));
        }
        (End::Broken | End::Released, None) => {
            let kept = appender.pending() + (appender.offset() - info.offset);
            let info = appender.commit().await?;
            return Ok((info, Some(kept)));
        }
    }
    let info = appender.commit().await?;
    Ok((info, None))
}

/// Forgets an appender's pending bytes, logging (not failing on) a storage error.
async fn discard<P: Appender>(appender: P) {
    if let Err(error) = appender.abort().await {
        tracing::warn!(error = %ErrorChain(&error), "discarding unacknowledged upload bytes");
    }
}

/// One lock per upload being worked on, so its requests run one at a time.
#[derive(Default)]
struct UploadLocks {
    entries: Mutex<HashMap<UploadId, Weak<LockEntry>>>,
}

#[derive(Default)]
struct LockEntry {
    mutex: Arc<tokio::sync::Mutex<()>>,
    /// Notified when a waiting request asks the holder to stop.
    release: Notify,
}

/// Holds an upload's lock until dropped.
struct LockGuard {
    entry: Arc<LockEntry>,
    _held: OwnedMutexGuard<()>,
}

impl LockGuard {
    /// Completes when another request asks the holder to stop.
    fn released(&self) -> tokio::sync::futures::Notified<'_> {
        self.entry.release.notified()
    }
}

impl UploadLocks {
    /// Entries kept before dead ones are swept.
    const SWEEP_AT: usize = 1024;

    fn entry(&self, id: &UploadId) -> Arc<LockEntry> {
        // A poisoned map is still a map of weak pointers: nothing can be half-updated.
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get(id).and_then(Weak::upgrade) {
            return entry;
        }
        if entries.len() >= Self::SWEEP_AT {
            entries.retain(|_, entry| entry.strong_count() > 0);
        }
        let entry = Arc::new(LockEntry::default());
        entries.insert(id.clone(), Arc::downgrade(&entry));
        entry
    }

    async fn acquire(
        &self,
        id: &UploadId,
        grace: Duration,
        timeout: Duration,
    ) -> Result<LockGuard, TusError> {
        let entry = self.entry(id);
        let mutex = Arc::clone(&entry.mutex);
        let held = match mutex.clone().try_lock_owned() {
            Ok(held) => held,
            Err(_) => match tokio::time::timeout(grace, mutex.clone().lock_owned()).await {
                Ok(held) => held,
                Err(_) => {
                    let deadline = tokio::time::Instant::now() + timeout;
                    loop {
                        entry.release.notify_waiters();
                        match tokio::time::timeout(RELEASE_RETRY, mutex.clone().lock_owned()).await
                        {
                            Ok(held) => break held,
                            Err(_) if tokio::time::Instant::now() >= deadline => {
                                return Err(TusError::Locked)
                            }
                            Err(_) => {}
                        }
                    }
                }
            },
        };
        Ok(LockGuard { entry, _held: held })
    }
}
