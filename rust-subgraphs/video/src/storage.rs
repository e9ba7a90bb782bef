//! Where uploads and a video's published files live: the [`Storage`] trait, and
//! [`LocalStorage`], its implementation on the local filesystem (the default).
//!
//! Two kinds of things are stored:
//!
//! - **Uploads** in progress ([`UploadId`]): created with a declared length, appended to at
//!   their current offset through an [`Appender`], finished (their bytes made available as a
//!   local file for FFmpeg), deleted. An offset is acknowledged only once the bytes below it
//!   are durable ([`Appender::commit`]), so an acknowledged offset survives a crash.
//! - **Objects**: the files a video's processing publishes ([`ObjectKey`]: a [`VideoId`] and a
//!   relative path such as `720p/segment_00001.ts`), put whole and read whole or by
//!   [`ByteRange`] (HLS serving).
//!
//! The trait is generic rather than object-safe (its methods return `impl Future + Send`):
//! the tus router and the subgraph are generic over it, and no boxing is paid per call.
//! Identifiers are validated types, so no caller can build a path out of unchecked input.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, BoxStream, StreamExt};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// An upload's metadata: tus `Upload-Metadata` pairs (e.g. `lessonId`, `filename`,
/// `filetype`), values decoded to text.
pub type Metadata = BTreeMap<String, String>;

/// The body of an object read: chunks of at most [`READ_CHUNK_BYTES`].
pub type ObjectBody = BoxStream<'static, io::Result<Bytes>>;

/// Size of the chunks [`LocalStorage`] reads objects in: 64 KiB.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Size of the write buffer of a [`LocalStorage`] appender: 1 MiB (bytes reach the file in
/// large writes; durability comes from [`Appender::commit`]).
pub const WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// Largest sidecar [`LocalStorage`] reads: 1 MiB (the tus router keeps metadata far smaller;
/// a bigger file is not one this crate wrote).
const MAX_SIDECAR_BYTES: u64 = 1024 * 1024;

/// Version of the sidecar format written by [`LocalStorage`].
const SIDECAR_VERSION: u32 = 1;

/// Everything that can go wrong using a [`Storage`].
#[derive(Debug, Error)]
pub enum StorageError {
    /// An identifier or object path is not of the accepted form (see [`UploadId`],
    /// [`VideoId`], [`ObjectKey`]). Nothing was touched.
    #[error("invalid {what}: {reason}")]
    InvalidId {
        /// What was being parsed: `upload id`, `video id` or `object path`.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// No such upload or object.
    #[error("not found")]
    NotFound,

    /// An append started at another offset than the upload's current one.
    #[error("the upload is at offset {current}, not {given}")]
    OffsetMismatch {
        /// The upload's current (acknowledged) offset, in bytes.
        current: u64,
        /// The offset asked for.
        given: u64,
    },

    /// A write would take the upload past its declared length. Nothing of that write was kept.
    #[error(
        "writing {attempted} bytes at offset {offset} would exceed the upload's length {length}"
    )]
    ExceedsLength {
        /// The upload's declared length, in bytes.
        length: u64,
        /// Where the write would start (committed plus pending bytes).
        offset: u64,
        /// The size of the refused write.
        attempted: u64,
    },

    /// The upload is not complete (offset below length), so it cannot be finished.
    #[error("the upload is incomplete: {offset} of {length} bytes")]
    Incomplete {
        /// Bytes received.
        offset: u64,
        /// Bytes declared.
        length: u64,
    },

    /// Another appender (or a deletion) holds the upload in this process.
    #[error("the upload is being written by another request")]
    Busy,

    /// The byte range asked for lies outside the object.
    #[error("the range is not satisfiable for an object of {len} bytes")]
    RangeNotSatisfiable {
        /// The object's length, in bytes.
        len: u64,
    },

    /// A sidecar or data file exists but does not hold what this module writes.
    #[error("corrupt upload state in {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The filesystem failed.
    #[error("{what} {path}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl StorageError {
    fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| {
            if source.kind() == io::ErrorKind::NotFound {
                Self::NotFound
            } else {
                Self::Io {
                    what,
                    path: path.to_path_buf(),
                    source,
                }
            }
        }
    }
}

/// An upload's identifier: 32 lowercase hexadecimal digits (a UUIDv7 without hyphens),
/// generated by the server. Anything else is refused by [`UploadId::parse`], so an id never
/// contains a path separator or a dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UploadId(String);

impl UploadId {
    /// A new, unique id (UUIDv7: time-ordered, 74 random bits).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().simple().to_string())
    }

    /// Parses an id received from a client.
    ///
    /// # Errors
    /// [`StorageError::InvalidId`] unless `s` is exactly 32 characters `0-9a-f`.
    pub fn parse(s: &str) -> Result<Self, StorageError> {
        let invalid = |reason| StorageError::InvalidId {
            what: "upload id",
            reason,
        };
        if s.len() != 32 {
            return Err(invalid("must be 32 characters long"));
        }
        if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid("must be lowercase hexadecimal"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UploadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A video's identifier as storage sees it: 1 to 64 characters `A-Z a-z 0-9 _ -` (a UUID
/// fits, with or without hyphens).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VideoId(String);

impl VideoId {
    /// Longest accepted id, in characters.
    pub const MAX_LEN: usize = 64;

    /// Parses a video id.
    ///
    /// # Errors
    /// [`StorageError::InvalidId`] when empty, longer than [`VideoId::MAX_LEN`], or holding
    /// another character.
    pub fn parse(s: &str) -> Result<Self, StorageError> {
        let invalid = |reason| StorageError::InvalidId {
            what: "video id",
            reason,
        };
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(invalid("must be 1 to 64 characters long"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(invalid("may hold only A-Z, a-z, 0-9, '_' and '-'"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A published file of a video: its [`VideoId`] and a relative path of 1 to
/// [`ObjectKey::MAX_SEGMENTS`] segments separated by `/`, each 1 to 128 characters
/// `A-Z a-z 0-9 . _ -` and not starting with a dot (so no `.`, `..` or hidden file); at most
/// [`ObjectKey::MAX_PATH_LEN`] bytes in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    video: VideoId,
    path: String,
}

impl ObjectKey {
    /// Most segments in an object path.
    pub const MAX_SEGMENTS: usize = 4;
    /// Longest object path, in bytes.
    pub const MAX_PATH_LEN: usize = 256;

    /// The key of `path` under `video`.
    ///
    /// # Errors
    /// [`StorageError::InvalidId`] when `path` is not of the form above.
    pub fn new(video: VideoId, path: &str) -> Result<Self, StorageError> {
        let invalid = |reason| StorageError::InvalidId {
            what: "object path",
            reason,
        };
        if path.is_empty() || path.len() > Self::MAX_PATH_LEN {
            return Err(invalid("must be 1 to 256 bytes long"));
        }
        let segments: Vec<&str> = path.split('/').collect();
        if segments.len() > Self::MAX_SEGMENTS {
            return Err(invalid("has too many segments"));
        }
        for segment in segments {
            if segment.is_empty() || segment.len() > 128 {
                return Err(invalid("has an empty or over-long segment"));
            }
            if segment.starts_with('.') {
                return Err(invalid("has a segment starting with a dot"));
            }
            if !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            {
                return Err(invalid(
                    "may hold only A-Z, a-z, 0-9, '.', '_', '-' and '/'",
                ));
            }
        }
        Ok(Self {
            video,
            path: path.to_owned(),
        })
    }

    /// The video the object belongs to.
    pub fn video(&self) -> &VideoId {
        &self.video
    }

    /// The object's path relative to its video.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// What a new upload declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    /// Its total length, in bytes.
    pub length: u64,
    /// Its metadata.
    pub metadata: Metadata,
    /// Who created it (as the authorizer identified them): later requests must come from them.
    pub owner: String,
}

/// An upload's state as last acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    /// Its id.
    pub id: UploadId,
    /// Its declared total length, in bytes.
    pub length: u64,
    /// Bytes received and durable, from the start.
    pub offset: u64,
    /// Its metadata, as given at creation.
    pub metadata: Metadata,
    /// Who created it.
    pub owner: String,
    /// When it was created (UTC).
    pub created_at: OffsetDateTime,
    /// Whether [`Storage::finish_upload`] has run.
    pub finished: bool,
}

impl UploadInfo {
    /// Whether every declared byte has arrived.
    pub fn is_complete(&self) -> bool {
        self.offset == self.length
    }
}

/// A range of bytes of an object, as an HTTP `Range: bytes=` header states it (RFC 9110 §14.1.2);
/// resolved against the object's length by [`ByteRange::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `first-` : from `first` to the end.
    From(u64),
    /// `first-last`: both inclusive (a `last` past the end means the end).
    Inclusive(u64, u64),
    /// `-n`: the last `n` bytes (all of them when the object is shorter).
    Suffix(u64),
}

impl ByteRange {
    /// The half-open range of bytes this range selects in an object of `len` bytes, or `None`
    /// when it selects none (RFC 9110's "unsatisfiable": it starts at or past the end, is
    /// inverted, or is an empty suffix).
    pub fn resolve(self, len: u64) -> Option<Range<u64>> {
        match self {
            Self::From(first) if first < len => Some(first..len),
            Self::Inclusive(first, last) if first <= last && first < len => {
                Some(first..last.saturating_add(1).min(len))
            }
            Self::Suffix(n) if n > 0 && len > 0 => Some(len.saturating_sub(n)..len),
            _ => None,
        }
    }
}

/// An object's size and age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Its length, in bytes.
    pub len: u64,
    /// When it was last written.
    pub modified: SystemTime,
}

/// An object being read.
pub struct ObjectRead {
    /// The object's whole length, in bytes (for `Content-Range`).
    pub total_len: u64,
    /// The bytes `body` yields, half-open.
    pub range: Range<u64>,
    /// When the object was last written (for `Last-Modified`).
    pub modified: SystemTime,
    /// The bytes of `range`.
    pub body: ObjectBody,
}

impl std::fmt::Debug for ObjectRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectRead")
            .field("total_len", &self.total_len)
            .field("range", &self.range)
            .field("modified", &self.modified)
            .finish_non_exhaustive()
    }
}

/// Storage of uploads and of a video's published objects.
///
/// Callers must not run two appends of one upload at the same time (the tus router serialises
/// its requests per upload); [`LocalStorage`] also refuses a second concurrent appender in its
/// process with [`StorageError::Busy`].
pub trait Storage: Send + Sync + 'static {
    /// Writes bytes at the end of an upload (see [`Appender`]).
    type Appender: Appender;

    /// Creates an empty upload of `new.length` bytes with a new [`UploadId`].
    ///
    /// # Errors
    /// [`StorageError::Io`] when it cannot be written.
    fn create_upload(
        &self,
        new: NewUpload,
    ) -> impl Future<Output = Result<UploadInfo, StorageError>> + Send;

    /// An upload's acknowledged state.
    ///
    /// # Errors
    /// [`StorageError::NotFound`]; [`StorageError::Corrupt`] or [`StorageError::Io`] when its
    /// state cannot be read.
    fn upload_info(
        &self,
        id: &UploadId,
    ) -> impl Future<Output = Result<UploadInfo, StorageError>> + Send;

    /// The first `min(max_bytes, offset)` acknowledged bytes of an upload (to sniff its type).
    ///
    /// # Errors
    /// As [`Storage::upload_info`].
    fn upload_prefix(
        &self,
        id: &UploadId,
        max_bytes: usize,
    ) -> impl Future<Output = Result<Bytes, StorageError>> + Send;

    /// Starts appending to an upload whose acknowledged offset is `offset`.
    ///
    /// # Errors
    /// [`StorageError::OffsetMismatch`] when the upload is at another offset;
    /// [`StorageError::Busy`] when another appender holds it; as [`Storage::upload_info`].
    fn begin_append(
        &self,
        id: &UploadId,
        offset: u64,
    ) -> impl Future<Output = Result<Self::Appender, StorageError>> + Send;

    /// Marks a complete upload finished and returns a local file holding exactly its bytes, for
    /// FFmpeg to read. Calling it again returns the same file.
    ///
    /// # Errors
    /// [`StorageError::Incomplete`] when bytes are missing; [`StorageError::Busy`] while an
    /// appender holds it; as [`Storage::upload_info`].
    fn finish_upload(
        &self,
        id: &UploadId,
    ) -> impl Future<Output = Result<PathBuf, StorageError>> + Send;

    /// Deletes an upload: its state first, so it is gone even if removing its bytes fails.
    ///
    /// # Errors
    /// [`StorageError::NotFound`]; [`StorageError::Busy`] while an appender holds it;
    /// [`StorageError::Io`].
    fn delete_upload(&self, id: &UploadId)
        -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Publishes the file at `source` as `key`, replacing any object there. Readers see the old
    /// object or the new one whole, never a part.
    ///
    /// # Errors
    /// [`StorageError::NotFound`] when `source` does not exist; [`StorageError::Io`].
    fn put_object(
        &self,
        key: &ObjectKey,
        source: &Path,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Publishes `bytes` as `key` (a playlist, a WebVTT file), like [`Storage::put_object`].
    ///
    /// # Errors
    /// [`StorageError::Io`].
    fn put_object_bytes(
        &self,
        key: &ObjectKey,
        bytes: Bytes,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// An object's length and modification time.
    ///
    /// # Errors
    /// [`StorageError::NotFound`]; [`StorageError::Io`].
    fn object_meta(
        &self,
        key: &ObjectKey,
    ) -> impl Future<Output = Result<ObjectMeta, StorageError>> + Send;

    /// Reads an object, whole or the bytes of `range`.
    ///
    /// # Errors
    /// [`StorageError::RangeNotSatisfiable`] when `range` selects no byte;
    /// [`StorageError::NotFound`]; [`StorageError::Io`].
    fn read_object(
        &self,
        key: &ObjectKey,
        range: Option<ByteRange>,
    ) -> impl Future<Output = Result<ObjectRead, StorageError>> + Send;

    /// Deletes every object of a video. Deleting a video without objects succeeds.
    ///
    /// # Errors
    /// [`StorageError::Io`].
    fn delete_objects(
        &self,
        video: &VideoId,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}

/// Appends bytes to one upload, from its acknowledged offset.
///
/// Bytes given to [`Appender::write`] are *pending*: they count for nothing until
/// [`Appender::commit`] makes them durable and moves the acknowledged offset past them.
/// Dropping an appender (or [`Appender::abort`]) forgets the pending bytes.
pub trait Appender: Send + 'static {
    /// The acknowledged offset, in bytes (pending bytes not included).
    fn offset(&self) -> u64;

    /// Bytes written since the last commit.
    fn pending(&self) -> u64;

    /// Writes `chunk` after the pending bytes.
    ///
    /// # Errors
    /// [`StorageError::ExceedsLength`] (nothing of `chunk` written) when it would take the
    /// upload past its length; [`StorageError::Io`].
    fn write(&mut self, chunk: &[u8]) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Makes the pending bytes durable, then acknowledges them (in that order, so an
    /// acknowledged offset survives a crash). Returns the new state; the appender stays usable.
    ///
    /// # Errors
    /// [`StorageError::Io`]: the offset stays where it was.
    fn commit(&mut self) -> impl Future<Output = Result<UploadInfo, StorageError>> + Send;

    /// Forgets the pending bytes; the offset stays where it was.
    ///
    /// # Errors
    /// [`StorageError::Io`] when the file cannot be cut back (harmless: bytes past the
    /// acknowledged offset are ignored and overwritten by the next append).
    fn abort(self) -> impl Future<Output = Result<(), StorageError>> + Send;
}

/// The on-disk state of an upload, beside its bytes.
#[derive(Debug, Serialize, Deserialize)]
struct Sidecar {
    version: u32,
    length: u64,
    offset: u64,
    metadata: Metadata,
    owner: String,
    created_at: String,
    finished: bool,
}

impl Sidecar {
    fn from_info(info: &UploadInfo) -> Result<Self, StorageError> {
        let created_at = info
            .created_at
            .format(&Rfc3339)
            .map_err(|e| StorageError::Io {
                what: "formatting the creation time of",
                path: PathBuf::from(info.id.as_str()),
                source: io::Error::other(e),
            })?;
        Ok(Self {
            version: SIDECAR_VERSION,
            length: info.length,
            offset: info.offset,
            metadata: info.metadata.clone(),
            owner: info.owner.clone(),
            created_at,
            finished: info.finished,
        })
    }

    fn into_info(self, id: UploadId, path: &Path) -> Result<UploadInfo, StorageError> {
        let corrupt = |reason: String| StorageError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        if self.version != SIDECAR_VERSION {
            return Err(corrupt(format!("unknown version {}", self.version)));
        }
        if self.offset > self.length {
            return Err(corrupt("offset past length".into()));
        }
        let created_at = OffsetDateTime::parse(&self.created_at, &Rfc3339)
            .map_err(|e| corrupt(format!("created_at: {e}")))?;
        Ok(UploadInfo {
            id,
            length: self.length,
            offset: self.offset,
            metadata: self.metadata,
            owner: self.owner,
            created_at,
            finished: self.finished,
        })
    }
}

/// The uploads being written in this process (one appender, finish or deletion at a time).
#[derive(Debug, Default)]
struct Writers(Mutex<HashSet<UploadId>>);

impl Writers {
    fn claim(self: &Arc<Self>, id: &UploadId) -> Result<WriterClaim, StorageError> {
        // A poisoned set is still a consistent set of ids: insert/remove cannot half-happen.
        let mut set = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !set.insert(id.clone()) {
            return Err(StorageError::Busy);
        }
        Ok(WriterClaim {
            writers: Arc::clone(self),
            id: id.clone(),
        })
    }
}

/// Releases its upload when dropped.
#[derive(Debug)]
struct WriterClaim {
    writers: Arc<Writers>,
    id: UploadId,
}

impl Drop for WriterClaim {
    fn drop(&mut self) {
        let mut set = self
            .writers
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        set.remove(&self.id);
    }
}

/// [`Storage`] on the local filesystem, under one root folder:
///
/// - `uploads/<id>.bin`: an upload's bytes; `uploads/<id>.json`: its sidecar (length, offset,
///   metadata, owner, created at, finished), replaced atomically (write, fsync, rename, fsync
///   the folder);
/// - `media/<video id>/<object path>`: published objects, written beside and renamed into
///   place.
///
/// Every path is built from a validated [`UploadId`] or [`ObjectKey`], never from raw input.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
    uploads: PathBuf,
    media: PathBuf,
    writers: Arc<Writers>,
}

impl LocalStorage {
    /// Opens storage under `root`, creating `root/uploads` and `root/media` if needed.
    ///
    /// # Errors
    /// [`StorageError::Io`] when the folders cannot be created.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        let uploads = root.join("uploads");
        let media = root.join("media");
        for dir in [&uploads, &media] {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(StorageError::io("creating", dir))?;
        }
        Ok(Self {
            root,
            uploads,
            media,
            writers: Arc::default(),
        })
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every upload whose state can be read, in no particular order (a sidecar that cannot be
    /// read is logged and skipped: one damaged upload must not hide the others). The subgraph
    /// lists them at start-up to find completed uploads it has not recorded (a crash between
    /// the last byte and the record).
    ///
    /// # Errors
    /// [`StorageError::Io`] when the uploads folder cannot be read.
    pub async fn list_uploads(&self) -> Result<Vec<UploadInfo>, StorageError> {
        let mut entries = tokio::fs::read_dir(&self.uploads)
            .await
            .map_err(StorageError::io("listing", &self.uploads))?;
        let mut uploads = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(StorageError::io("listing", &self.uploads))?
        {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            // Temporary files start with a dot and are not ids.
            let Ok(id) = UploadId::parse(id) else {
                continue;
            };
            match self.read_sidecar(&id).await {
                Ok(info) => uploads.push(info),
                Err(error) => {
                    tracing::warn!(upload = %id, error = %error, "upload state unreadable; skipped")
                }
            }
        }
        Ok(uploads)
    }

    fn data_path(&self, id: &UploadId) -> PathBuf {
        self.uploads.join(format!("{id}.bin"))
    }

    fn sidecar_path(&self, id: &UploadId) -> PathBuf {
        self.uploads.join(format!("{id}.json"))
    }

    fn object_path(&self, key: &ObjectKey) -> PathBuf {
        let mut path = self.media.join(key.video.as_str());
        path.extend(key.path.split('/'));
        path
    }

    async fn read_sidecar(&self, id: &UploadId) -> Result<UploadInfo, StorageError> {
        let path = self.sidecar_path(id);
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(StorageError::io("opening", &path))?;
        let mut text = Vec::new();
        // One byte more than allowed tells an over-long file from one of exactly the limit.
        file.take(MAX_SIDECAR_BYTES + 1)
            .read_to_end(&mut text)
            .await
            .map_err(StorageError::io("reading", &path))?;
        if text.len() as u64 > MAX_SIDECAR_BYTES {
            return Err(StorageError::Corrupt {
                path,
                reason: "larger than 1 MiB".into(),
            });
        }
        let sidecar: Sidecar =
            serde_json::from_slice(&text).map_err(|e| StorageError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        sidecar.into_info(id.clone(), &path)
    }

    async fn write_sidecar(&self, info: &UploadInfo) -> Result<(), StorageError> {
        let json =
            serde_json::to_vec(&Sidecar::from_info(info)?).map_err(|e| StorageError::Io {
                what: "encoding",
                path: self.sidecar_path(&info.id),
                source: io::Error::other(e),
            })?;
        write_atomically(self.sidecar_path(&info.id), json).await
    }
}

/// Writes `bytes` to `path` so that a reader (or a restart after a crash) sees the old content
/// or the new one whole: a temporary file beside it, fsync'd, renamed over it, and the folder
/// fsync'd so the rename itself is durable.
async fn write_atomically(path: PathBuf, bytes: Vec<u8>) -> Result<(), StorageError> {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let tmp = temporary_beside(&path);
        let result = (|| {
            let mut file =
                std::fs::File::create(&tmp).map_err(StorageError::io("creating", &tmp))?;
            file.write_all(&bytes)
                .map_err(StorageError::io("writing", &tmp))?;
            file.sync_all().map_err(StorageError::io("syncing", &tmp))?;
            std::fs::rename(&tmp, &path).map_err(StorageError::io("renaming onto", &path))?;
            sync_parent(&path)
        })();
        if result.is_err() {
            // Best effort: a leftover temporary file is never read (its name is not an id's).
            let _ = std::fs::remove_file(&tmp);
        }
        result
    })
    .await
    .map_err(|e| StorageError::Io {
        what: "joining the writer of",
        path: PathBuf::new(),
        source: io::Error::other(e),
    })?
}

/// A temporary name beside `path`; it starts with a dot, so no id or object path can name it.
fn temporary_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", uuid::Uuid::now_v7().simple()))
}

fn sync_parent(path: &Path) -> Result<(), StorageError> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    std::fs::File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(StorageError::io("syncing the folder", parent))
}

impl Storage for LocalStorage {
    type Appender = LocalAppender;

    async fn create_upload(&self, new: NewUpload) -> Result<UploadInfo, StorageError> {
        let info = UploadInfo {
            id: UploadId::generate(),
            length: new.length,
            offset: 0,
            metadata: new.metadata,
            owner: new.owner,
            created_at: OffsetDateTime::now_utc(),
            finished: false,
        };
        let data = self.data_path(&info.id);
        // The data file first: the sidecar is what makes the upload exist.
        tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&data)
            .await
            .map_err(StorageError::io("creating", &data))?;
        if let Err(error) = self.write_sidecar(&info).await {
            // Best effort: without its sidecar the data file is no upload, only clutter.
            let _ = tokio::fs::remove_file(&data).await;
            return Err(error);
        }
        Ok(info)
    }

    async fn upload_info(&self, id: &UploadId) -> Result<UploadInfo, StorageError> {
        self.read_sidecar(id).await
    }

    async fn upload_prefix(&self, id: &UploadId, max_bytes: usize) -> Result<Bytes, StorageError> {
        let info = self.read_sidecar(id).await?;
        let want = info.offset.min(max_bytes as u64);
        let path = self.data_path(id);
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(StorageError::io("opening", &path))?;
        let mut bytes = Vec::new();
        file.take(want)
            .read_to_end(&mut bytes)
            .await
            .map_err(StorageError::io("reading", &path))?;
        if (bytes.len() as u64) < want {
            return Err(StorageError::Corrupt {
                path,
                reason: format!("holds fewer bytes than its offset {}", info.offset),
            });
        }
        Ok(Bytes::from(bytes))
    }

    async fn begin_append(
        &self,
        id: &UploadId,
        offset: u64,
    ) -> Result<LocalAppender, StorageError> {
        let claim = self.writers.claim(id)?;
        let info = self.read_sidecar(id).await?;
        if info.offset != offset {
            return Err(StorageError::OffsetMismatch {
                current: info.offset,
                given: offset,
            });
        }
        let path = self.data_path(id);
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .await
            .map_err(StorageError::io("opening", &path))?;
        // Bytes past the acknowledged offset (an aborted append, or a crash before a commit)
        // were never acknowledged: cut them off and write over them.
        file.set_len(offset)
            .await
            .map_err(StorageError::io("truncating", &path))?;
        file.seek(io::SeekFrom::Start(offset))
            .await
            .map_err(StorageError::io("seeking in", &path))?;
        Ok(LocalAppender {
            file: tokio::io::BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            storage: self.clone(),
            info,
            pending: 0,
            _claim: claim,
        })
    }

    async fn finish_upload(&self, id: &UploadId) -> Result<PathBuf, StorageError> {
        let _claim = self.writers.claim(id)?;
        let mut info = self.read_sidecar(id).await?;
        if !info.is_complete() {
            return Err(StorageError::Incomplete {
                offset: info.offset,
                length: info.length,
            });
        }
        let path = self.data_path(id);
        let len = tokio::fs::metadata(&path)
            .await
            .map_err(StorageError::io("reading the size of", &path))?
            .len();
        if len != info.length {
            // Appends are cut at the acknowledged offset, which cannot pass the length.
            return Err(StorageError::Corrupt {
                path,
                reason: format!("holds {len} bytes, the upload {}", info.length),
            });
        }
        if !info.finished {
            info.finished = true;
            self.write_sidecar(&info).await?;
        }
        Ok(path)
    }

    async fn delete_upload(&self, id: &UploadId) -> Result<(), StorageError> {
        let _claim = self.writers.claim(id)?;
        let sidecar = self.sidecar_path(id);
        tokio::fs::remove_file(&sidecar)
            .await
            .map_err(StorageError::io("deleting", &sidecar))?;
        let data = self.data_path(id);
        match tokio::fs::remove_file(&data).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StorageError::Io {
                what: "deleting",
                path: data,
                source: e,
            }),
            _ => Ok(()),
        }
    }

    async fn put_object(&self, key: &ObjectKey, source: &Path) -> Result<(), StorageError> {
        let target = self.object_path(key);
        let source = source.to_path_buf();
        tokio::task::spawn_blocking(move || {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(StorageError::io("creating", parent))?;
            }
            let tmp = temporary_beside(&target);
            let result = (|| {
                std::fs::copy(&source, &tmp).map_err(StorageError::io("copying", &source))?;
                std::fs::File::open(&tmp)
                    .and_then(|f| f.sync_all())
                    .map_err(StorageError::io("syncing", &tmp))?;
                std::fs::rename(&tmp, &target)
                    .map_err(StorageError::io("renaming onto", &target))?;
                sync_parent(&target)
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result
        })
        .await
        .map_err(|e| StorageError::Io {
            what: "joining the copier of",
            path: PathBuf::new(),
            source: io::Error::other(e),
        })?
    }

    async fn put_object_bytes(&self, key: &ObjectKey, bytes: Bytes) -> Result<(), StorageError> {
        let target = self.object_path(key);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(StorageError::io("creating", parent))?;
        }
        write_atomically(target, bytes.to_vec()).await
    }

    async fn object_meta(&self, key: &ObjectKey) -> Result<ObjectMeta, StorageError> {
        let path = self.object_path(key);
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(StorageError::io("reading", &path))?;
        if !meta.is_file() {
            return Err(StorageError::NotFound);
        }
        Ok(ObjectMeta {
            len: meta.len(),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        })
    }

    async fn read_object(
        &self,
        key: &ObjectKey,
        range: Option<ByteRange>,
    ) -> Result<ObjectRead, StorageError> {
        let path = self.object_path(key);
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(StorageError::io("opening", &path))?;
        // Length and time from the open file: a put_object renaming a new object into place
        // meanwhile does not change what this read sees.
        let meta = file
            .metadata()
            .await
            .map_err(StorageError::io("reading", &path))?;
        if !meta.is_file() {
            return Err(StorageError::NotFound);
        }
        let total_len = meta.len();
        let selected = match range {
            None => 0..total_len,
            Some(range) => range
                .resolve(total_len)
                .ok_or(StorageError::RangeNotSatisfiable { len: total_len })?,
        };
        if selected.start > 0 {
            file.seek(io::SeekFrom::Start(selected.start))
                .await
                .map_err(StorageError::io("seeking in", &path))?;
        }
        let remaining = selected.end - selected.start;
        let body = stream::try_unfold((file, remaining), |(mut file, remaining)| async move {
            if remaining == 0 {
                return Ok(None);
            }
            let want = remaining.min(READ_CHUNK_BYTES as u64) as usize;
            let mut buf = BytesMut::zeroed(want);
            let mut filled = 0;
            while filled < want {
                let n = file.read(&mut buf[filled..]).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the object is shorter than when it was opened",
                    ));
                }
                filled += n;
            }
            Ok(Some((buf.freeze(), (file, remaining - want as u64))))
        })
        .boxed();
        Ok(ObjectRead {
            total_len,
            range: selected,
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            body,
        })
    }

    async fn delete_objects(&self, video: &VideoId) -> Result<(), StorageError> {
        let dir = self.media.join(video.as_str());
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StorageError::Io {
                what: "deleting",
                path: dir,
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

/// [`Appender`] of [`LocalStorage`]: writes through a [`WRITE_BUFFER_BYTES`] buffer; a commit
/// flushes it, fsyncs the data file, then replaces the sidecar.
#[derive(Debug)]
pub struct LocalAppender {
    file: tokio::io::BufWriter<tokio::fs::File>,
    storage: LocalStorage,
    info: UploadInfo,
    pending: u64,
    _claim: WriterClaim,
}

impl Appender for LocalAppender {
    fn offset(&self) -> u64 {
        self.info.offset
    }

    fn pending(&self) -> u64 {
        self.pending
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<(), StorageError> {
        let at = self.info.offset + self.pending;
        let attempted = chunk.len() as u64;
        if at
            .checked_add(attempted)
            .is_none_or(|end| end > self.info.length)
        {
            return Err(StorageError::ExceedsLength {
                length: self.info.length,
                offset: at,
                attempted,
            });
        }
        let path = self.storage.data_path(&self.info.id);
        self.file
            .write_all(chunk)
            .await
            .map_err(StorageError::io("writing", &path))?;
        self.pending += attempted;
        Ok(())
    }

    async fn commit(&mut self) -> Result<UploadInfo, StorageError> {
        if self.pending == 0 {
            return Ok(self.info.clone());
        }
        let path = self.storage.data_path(&self.info.id);
        self.file
            .flush()
            .await
            .map_err(StorageError::io("writing", &path))?;
        self.file
            .get_ref()
            .sync_data()
            .await
            .map_err(StorageError::io("syncing", &path))?;
        let mut next = self.info.clone();
        next.offset += self.pending;
        self.storage.write_sidecar(&next).await?;
        self.info = next;
        self.pending = 0;
        Ok(self.info.clone())
    }

    async fn abort(self) -> Result<(), StorageError> {
        let path = self.storage.data_path(&self.info.id);
        // The buffer is dropped unwritten; what already reached the file is cut off.
        let file = self.file.into_inner();
        file.set_len(self.info.offset)
            .await
            .map_err(StorageError::io("truncating", &path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn storage() -> (tempfile::TempDir, LocalStorage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::open(dir.path().join("root")).await.unwrap();
        (dir, storage)
    }

    fn new_upload(length: u64) -> NewUpload {
        NewUpload {
            length,
            metadata: Metadata::from([("filename".to_owned(), "a.mp4".to_owned())]),
            owner: "alice".into(),
        }
    }

    #[test]
    fn upload_ids_are_32_hex_digits_and_nothing_else() {
        let id = UploadId::generate();
        assert_eq!(UploadId::parse(id.as_str()).unwrap(), id);
        for bad in [
            "",
            "..",
            "../../etc/passwd",
            "0123456789abcdef0123456789abcde/",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcdef0",
            "0123456789abcdef0123456789abcde.",
        ] {
            assert!(
                matches!(UploadId::parse(bad), Err(StorageError::InvalidId { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn object_paths_cannot_leave_their_video() {
        let video = VideoId::parse("0190b7e2-aaaa-7bbb-8ccc-0123456789ab").unwrap();
        for good in ["master.m3u8", "720p/segment_00001.ts", "captions/en.vtt"] {
            assert_eq!(ObjectKey::new(video.clone(), good).unwrap().path(), good);
        }
        for bad in [
            "",
            "..",
            "../other/master.m3u8",
            "720p/../../x",
            "/etc/passwd",
            "a//b",
            ".hidden",
            "a/b/c/d/e",
            "a\\b",
            "a b",
        ] {
            assert!(ObjectKey::new(video.clone(), bad).is_err(), "{bad:?}");
        }
        for bad in ["", "..", "a/b", "a.b", &"x".repeat(65)] {
            assert!(VideoId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        assert_eq!(ByteRange::From(0).resolve(10), Some(0..10));
        assert_eq!(ByteRange::From(9).resolve(10), Some(9..10));
        assert_eq!(ByteRange::From(10).resolve(10), None);
        assert_eq!(ByteRange::Inclusive(2, 4).resolve(10), Some(2..5));
        assert_eq!(ByteRange::Inclusive(2, u64::MAX).resolve(10), Some(2..10));
        assert_eq!(ByteRange::Inclusive(5, 4).resolve(10), None);
        assert_eq!(ByteRange::Suffix(3).resolve(10), Some(7..10));
        assert_eq!(ByteRange::Suffix(30).resolve(10), Some(0..10));
        assert_eq!(ByteRange::Suffix(0).resolve(10), None);
        assert_eq!(ByteRange::From(0).resolve(0), None);
    }

    #[tokio::test]
    async fn appends_are_acknowledged_only_when_committed() {
        let (_dir, storage) = storage().await;
        let info = storage.create_upload(new_upload(10)).await.unwrap();
        assert_eq!((info.offset, info.length), (0, 10));

        let mut appender = storage.begin_append(&info.id, 0).await.unwrap();
        assert!(matches!(
            storage.begin_append(&info.id, 0).await,
            Err(StorageError::Busy)
        ));
        appender.write(b"0123").await.unwrap();
        assert_eq!(storage.upload_info(&info.id).await.unwrap().offset, 0);
        assert_eq!(appender.commit().await.unwrap().offset, 4);
        appender.write(b"45").await.unwrap();
        // Dropped without a commit: the two pending bytes are not part of the upload.
        drop(appender);
        let reread = storage.upload_info(&info.id).await.unwrap();
        assert_eq!(reread.offset, 4);
        assert_eq!(reread.metadata, new_upload(10).metadata);
        assert_eq!(reread.created_at, info.created_at);

        assert!(matches!(
            storage.begin_append(&info.id, 6).await,
            Err(StorageError::OffsetMismatch {
                current: 4,
                given: 6
            })
        ));
        let mut appender = storage.begin_append(&info.id, 4).await.unwrap();
        assert!(matches!(
            appender.write(b"too many bytes").await,
            Err(StorageError::ExceedsLength { .. })
        ));
        appender.write(b"abcdef").await.unwrap();
        assert!(matches!(
            storage.finish_upload(&info.id).await,
            Err(StorageError::Busy)
        ));
        appender.commit().await.unwrap();
        drop(appender);

        let path = storage.finish_upload(&info.id).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"0123abcdef");
        assert!(storage.upload_info(&info.id).await.unwrap().finished);
        assert_eq!(
            &storage.upload_prefix(&info.id, 3).await.unwrap()[..],
            b"012"
        );

        storage.delete_upload(&info.id).await.unwrap();
        assert!(matches!(
            storage.upload_info(&info.id).await,
            Err(StorageError::NotFound)
        ));
        assert!(!path.exists());
        assert!(matches!(
            storage.delete_upload(&info.id).await,
            Err(StorageError::NotFound)
        ));
    }

    #[tokio::test]
    async fn an_aborted_append_leaves_the_offset_and_the_bytes() {
        let (_dir, storage) = storage().await;
        let info = storage.create_upload(new_upload(8)).await.unwrap();
        let mut appender = storage.begin_append(&info.id, 0).await.unwrap();
        appender.write(b"good").await.unwrap();
        appender.commit().await.unwrap();
        appender.write(b"bad!").await.unwrap();
        appender.abort().await.unwrap();
        assert_eq!(storage.upload_info(&info.id).await.unwrap().offset, 4);
        assert!(matches!(
            storage.finish_upload(&info.id).await,
            Err(StorageError::Incomplete {
                offset: 4,
                length: 8
            })
        ));
        let mut appender = storage.begin_append(&info.id, 4).await.unwrap();
        appender.write(b"more").await.unwrap();
        appender.commit().await.unwrap();
        drop(appender);
        let path = storage.finish_upload(&info.id).await.unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"goodmore");
    }

    #[tokio::test]
    async fn a_corrupt_sidecar_is_reported_not_trusted() {
        let (_dir, storage) = storage().await;
        let info = storage.create_upload(new_upload(8)).await.unwrap();
        let sidecar = storage.sidecar_path(&info.id);
        std::fs::write(&sidecar, b"{\"not\": \"a sidecar\"}").unwrap();
        assert!(matches!(
            storage.upload_info(&info.id).await,
            Err(StorageError::Corrupt { .. })
        ));
        let text =
            String::from_utf8(serde_json::to_vec(&Sidecar::from_info(&info).unwrap()).unwrap())
                .unwrap()
                .replace("\"offset\":0", "\"offset\":9");
        std::fs::write(&sidecar, text).unwrap();
        assert!(matches!(
            storage.upload_info(&info.id).await,
            Err(StorageError::Corrupt { .. })
        ));
    }

    #[tokio::test]
    async fn objects_are_put_and_read_whole_or_by_range() {
        let (dir, storage) = storage().await;
        let video = VideoId::parse("v1").unwrap();
        let playlist = ObjectKey::new(video.clone(), "master.m3u8").unwrap();
        storage
            .put_object_bytes(&playlist, Bytes::from_static(b"#EXTM3U\n"))
            .await
            .unwrap();
        let source = dir.path().join("segment.ts");
        let segment_bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&source, &segment_bytes).unwrap();
        let segment = ObjectKey::new(video.clone(), "720p/segment_00001.ts").unwrap();
        storage.put_object(&segment, &source).await.unwrap();

        let read_all = |read: ObjectRead| async move {
            let chunks: Vec<Bytes> = read.body.map(|c| c.unwrap()).collect().await;
            chunks.concat()
        };
        let whole = storage.read_object(&segment, None).await.unwrap();
        assert_eq!(
            (whole.total_len, whole.range.clone()),
            (200_000, 0..200_000)
        );
        assert_eq!(read_all(whole).await, segment_bytes);

        let part = storage
            .read_object(&segment, Some(ByteRange::Inclusive(70_000, 140_001)))
            .await
            .unwrap();
        assert_eq!(part.range, 70_000..140_002);
        assert_eq!(read_all(part).await, &segment_bytes[70_000..140_002]);

        let tail = storage
            .read_object(&playlist, Some(ByteRange::Suffix(3)))
            .await
            .unwrap();
        assert_eq!(read_all(tail).await, b"3U\n");
        assert!(matches!(
            storage
                .read_object(&playlist, Some(ByteRange::From(8)))
                .await,
            Err(StorageError::RangeNotSatisfiable { len: 8 })
        ));
        assert_eq!(storage.object_meta(&segment).await.unwrap().len, 200_000);

        storage.delete_objects(&video).await.unwrap();
        assert!(matches!(
            storage.object_meta(&segment).await,
            Err(StorageError::NotFound)
        ));
        storage.delete_objects(&video).await.unwrap();
        // Nothing but the two folders is left under the root.
        let left: Vec<_> = std::fs::read_dir(storage.root().join("media"))
            .unwrap()
            .collect();
        assert!(left.is_empty());
    }
}
