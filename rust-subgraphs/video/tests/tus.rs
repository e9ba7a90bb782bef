//! The tus router end to end: driven in-process with tower's `oneshot`, and over a real TCP
//! connection for the upload whose client disappears mid-body.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, Method, Request, Response, StatusCode};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use coursegraph_video::storage::{LocalStorage, Metadata, Storage, UploadId, UploadInfo};
use coursegraph_video::tus::{self, AuthError, CompletedUpload, TusConfig, UploadAuthorizer};
use http_body_util::BodyExt;
use sha1::Digest as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// Bearer tokens are user names; alice teaches lesson-1, bob lesson-2, mallory nothing.
struct LessonInstructors;

fn user(headers: &HeaderMap) -> Result<String, AuthError> {
    match headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        Some(name) if ["alice", "bob", "mallory"].contains(&name) => Ok(name.to_owned()),
        _ => Err(AuthError::Unauthenticated("sign in to upload".into())),
    }
}

impl UploadAuthorizer for LessonInstructors {
    async fn authorize_create(
        &self,
        headers: &HeaderMap,
        metadata: &Metadata,
    ) -> Result<String, AuthError> {
        let user = user(headers)?;
        let lesson = metadata.get("lessonId").map(String::as_str);
        match (user.as_str(), lesson) {
            ("alice", Some("lesson-1")) | ("bob", Some("lesson-2")) => Ok(user),
            _ => Err(AuthError::Forbidden(
                "only the lesson's instructors may upload its video".into(),
            )),
        }
    }

    async fn authorize_access(
        &self,
        headers: &HeaderMap,
        upload: &UploadInfo,
    ) -> Result<(), AuthError> {
        if user(headers)? == upload.owner {
            Ok(())
        } else {
            Err(AuthError::Forbidden("not your upload".into()))
        }
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    storage: Arc<LocalStorage>,
    app: Router,
    completed: Arc<Mutex<Vec<CompletedUpload>>>,
}

const MAX_SIZE: u64 = 64 * 1024 * 1024;

async fn fixture_with(config: TusConfig) -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let storage = Arc::new(
        LocalStorage::open(dir.path().join("root"))
            .await
            .expect("storage in the temporary folder"),
    );
    let completed = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&completed);
    let hook = move |upload: CompletedUpload| seen.lock().expect("the completions").push(upload);
    let app = Router::new().nest(
        "/files",
        tus::router(
            Arc::clone(&storage),
            Arc::new(LessonInstructors),
            Arc::new(hook),
            TusConfig {
                location_prefix: "/files".into(),
                ..config
            },
        ),
    );
    Fixture {
        dir,
        storage,
        app,
        completed,
    }
}

async fn fixture() -> Fixture {
    fixture_with(TusConfig {
        max_size: MAX_SIZE,
        ..TusConfig::default()
    })
    .await
}

fn metadata_header(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", STANDARD.encode(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn video_metadata() -> String {
    metadata_header(&[
        ("lessonId", "lesson-1"),
        ("filename", "intro.mp4"),
        ("filetype", "video/mp4"),
    ])
}

fn request(method: Method, uri: &str, user: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("tus-resumable", "1.0.0")
        .header(AUTHORIZATION, format!("Bearer {user}"))
}

impl Fixture {
    async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.app
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers")
    }

    /// Creates an upload as alice; returns its `Location`.
    async fn create(&self, length: u64) -> String {
        let response = self
            .send(
                request(Method::POST, "/files", "alice")
                    .header("upload-length", length.to_string())
                    .header("upload-metadata", video_metadata())
                    .body(Body::empty())
                    .expect("a request"),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["tus-resumable"], "1.0.0");
        response.headers()[LOCATION]
            .to_str()
            .expect("an ASCII Location")
            .to_owned()
    }

    async fn patch(
        &self,
        location: &str,
        offset: u64,
        bytes: &[u8],
        checksum: Option<String>,
    ) -> Response<Body> {
        let mut builder = request(Method::PATCH, location, "alice")
            .header(CONTENT_TYPE, "application/offset+octet-stream")
            .header("upload-offset", offset.to_string())
            .header("content-length", bytes.len().to_string());
        if let Some(checksum) = checksum {
            builder = builder.header("upload-checksum", checksum);
        }
        self.send(builder.body(Body::from(bytes.to_vec())).expect("a request"))
            .await
    }

    async fn head(&self, location: &str, user: &str) -> Response<Body> {
        self.send(
            request(Method::HEAD, location, user)
                .body(Body::empty())
                .expect("a request"),
        )
        .await
    }

    async fn offset(&self, location: &str) -> u64 {
        let response = self.head(location, "alice").await;
        assert_eq!(response.status(), StatusCode::OK);
        header_u64(&response, "upload-offset")
    }

    fn completions(&self) -> Vec<CompletedUpload> {
        self.completed.lock().expect("the completions").clone()
    }

    fn root(&self) -> PathBuf {
        self.storage.root().to_path_buf()
    }
}

fn header_u64(response: &Response<Body>, name: &str) -> u64 {
    response.headers()[name]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("a number")
}

fn id_of(location: &str) -> UploadId {
    UploadId::parse(location.rsplit('/').next().unwrap_or_default())
        .expect("an upload id in the Location")
}

async fn text(response: Response<Body>) -> String {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("a UTF-8 body")
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(bytes).to_vec()
}

fn checksum_header(algorithm: &str, bytes: &[u8]) -> String {
    let digest = match algorithm {
        "sha1" => sha1::Sha1::digest(bytes).to_vec(),
        _ => sha256(bytes),
    };
    format!("{algorithm} {}", STANDARD.encode(digest))
}

/// A short MP4 made by FFmpeg's own test sources (2 s of testsrc2 and a sine tone).
fn test_mp4(dir: &Path) -> Vec<u8> {
    let out = dir.join("source.mp4");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=2",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-c:a", "aac", "-shortest"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    std::fs::read(out).expect("the test video")
}

/// `len` pseudo-random bytes behind an MP4 `ftyp` box, so the sniff takes them for video.
fn fake_mp4(len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len);
    bytes.extend_from_slice(b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    while bytes.len() < len {
        // xorshift64: enough entropy that nothing compresses or repeats.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn options_advertises_version_extensions_and_limits() {
    let f = fixture().await;
    // OPTIONS is the one request that needs no Tus-Resumable.
    let response = f
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/files")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let headers = response.headers();
    assert_eq!(headers["tus-resumable"], "1.0.0");
    assert_eq!(headers["tus-version"], "1.0.0");
    let extensions: Vec<&str> = headers["tus-extension"]
        .to_str()
        .unwrap()
        .split(',')
        .collect();
    for extension in ["creation", "termination", "checksum"] {
        assert!(extensions.contains(&extension), "{extensions:?}");
    }
    assert_eq!(headers["tus-max-size"], MAX_SIZE.to_string().as_str());
    assert_eq!(headers["tus-checksum-algorithm"], "sha1,sha256");
}

#[tokio::test]
async fn creation_then_head_reports_offset_zero() {
    let f = fixture().await;
    let location = f.create(1234).await;
    assert!(location.starts_with("/files/"));
    let response = f.head(&location, "alice").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_u64(&response, "upload-offset"), 0);
    assert_eq!(header_u64(&response, "upload-length"), 1234);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["tus-resumable"], "1.0.0");
    let info = f.storage.upload_info(&id_of(&location)).await.unwrap();
    assert_eq!(info.owner, "alice");
    assert_eq!(info.metadata["filename"], "intro.mp4");
    assert_eq!(info.metadata["lessonId"], "lesson-1");
    // HEAD gives the metadata back as it was sent.
    let echoed = response.headers()["upload-metadata"].to_str().unwrap();
    let mut pairs: Vec<&str> = echoed.split(',').collect();
    let sent_header = video_metadata();
    let mut sent: Vec<&str> = sent_header.split(',').collect();
    pairs.sort_unstable();
    sent.sort_unstable();
    assert_eq!(pairs, sent);
}

#[tokio::test]
async fn an_upload_in_two_patches_completes_once_with_the_source_bytes() {
    let f = fixture().await;
    let source = test_mp4(f.dir.path());
    let location = f.create(source.len() as u64).await;
    let half = source.len() / 2;

    let first = f.patch(&location, 0, &source[..half], None).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(header_u64(&first, "upload-offset"), half as u64);
    assert_eq!(f.offset(&location).await, half as u64);
    assert!(f.completions().is_empty());

    let rest = &source[half..];
    let second = f
        .patch(
            &location,
            half as u64,
            rest,
            Some(checksum_header("sha1", rest)),
        )
        .await;
    assert_eq!(second.status(), StatusCode::NO_CONTENT);
    assert_eq!(header_u64(&second, "upload-offset"), source.len() as u64);

    // An empty PATCH at the end changes nothing and does not complete the upload again.
    let again = f.patch(&location, source.len() as u64, b"", None).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    let completions = f.completions();
    assert_eq!(completions.len(), 1);
    let done = &completions[0];
    assert_eq!(done.info.id, id_of(&location));
    assert!(done.info.finished && done.info.is_complete());
    assert_eq!(sha256(&std::fs::read(&done.path).unwrap()), sha256(&source));
    assert!(done.path.starts_with(f.root()));
}

#[tokio::test]
async fn a_wrong_offset_is_409_and_appends_nothing() {
    let f = fixture().await;
    let source = fake_mp4(4096);
    let location = f.create(4096).await;
    let response = f.patch(&location, 100, &source[100..200], None).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(header_u64(&response, "upload-offset"), 0);
    assert_eq!(f.offset(&location).await, 0);

    assert_eq!(
        f.patch(&location, 0, &source[..1000], None).await.status(),
        StatusCode::NO_CONTENT
    );
    // Re-sending what the server has is a conflict too: the client must HEAD and resume.
    let response = f.patch(&location, 0, &source[..1000], None).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(header_u64(&response, "upload-offset"), 1000);
    assert_eq!(f.offset(&location).await, 1000);
}

#[tokio::test]
async fn a_bad_checksum_is_460_and_leaves_the_offset() {
    let f = fixture().await;
    let source = fake_mp4(10_000);
    let location = f.create(10_000).await;
    assert_eq!(
        f.patch(
            &location,
            0,
            &source[..4000],
            Some(checksum_header("sha256", &source[..4000]))
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    // The digest of other bytes than those sent.
    let wrong = checksum_header("sha256", &source[4000..9999]);
    let response = f.patch(&location, 4000, &source[4000..], Some(wrong)).await;
    assert_eq!(response.status().as_u16(), 460);
    assert!(text(response).await.contains("nothing was appended"));
    assert_eq!(f.offset(&location).await, 4000);

    let unsupported = format!("md5 {}", STANDARD.encode([0u8; 16]));
    let response = f
        .patch(&location, 4000, &source[4000..], Some(unsupported))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(f.offset(&location).await, 4000);

    let right = checksum_header("sha256", &source[4000..]);
    let response = f.patch(&location, 4000, &source[4000..], Some(right)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let completions = f.completions();
    assert_eq!(completions.len(), 1);
    assert_eq!(std::fs::read(&completions[0].path).unwrap(), source);
}

#[tokio::test]
async fn sizes_over_the_limits_are_413_and_change_nothing() {
    let f = fixture().await;
    let response = f
        .send(
            request(Method::POST, "/files", "alice")
                .header("upload-length", (MAX_SIZE + 1).to_string())
                .header("upload-metadata", video_metadata())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(text(response).await.contains("maximum upload size"));
    assert!(files_under(&f.root()).is_empty());

    // A PATCH longer than what the upload has left, declared...
    let source = fake_mp4(3000);
    let location = f.create(2000).await;
    let response = f.patch(&location, 0, &source, None).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(f.offset(&location).await, 0);

    // ...or only found out while streaming (no Content-Length): none of it is kept.
    let chunks: Vec<Result<Bytes, std::io::Error>> = source
        .chunks(500)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let response = f
        .send(
            request(Method::PATCH, &location, "alice")
                .header(CONTENT_TYPE, "application/offset+octet-stream")
                .header("upload-offset", "0")
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(f.offset(&location).await, 0);
    assert!(f.completions().is_empty());
}

#[tokio::test]
async fn a_file_that_is_not_video_is_refused() {
    let f = fixture().await;
    for metadata in [
        metadata_header(&[("lessonId", "lesson-1"), ("filetype", "application/pdf")]),
        metadata_header(&[("lessonId", "lesson-1"), ("filename", "notes.mp4")]),
    ] {
        let response = f
            .send(
                request(Method::POST, "/files", "alice")
                    .header("upload-length", "1000")
                    .header("upload-metadata", metadata)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(text(response).await.contains("video"));
    }
    assert!(files_under(&f.root()).is_empty());

    // Claims to be video/mp4, but its first bytes are a PDF's.
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    pdf.resize(2000, b' ');
    let location = f.create(2000).await;
    let response = f.patch(&location, 0, &pdf, None).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(text(response).await.contains("not a video"));
    assert_eq!(f.offset(&location).await, 0);

    // The sniff also holds when the first bytes come in several requests: the fourth byte
    // already rules out every container.
    let response = f.patch(&location, 0, &pdf[..3], None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = f.patch(&location, 3, &pdf[3..700], None).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(f.offset(&location).await, 3);

    // A PATCH without the tus media type is refused before anything is read.
    let response = f
        .send(
            request(Method::PATCH, &location, "alice")
                .header(CONTENT_TYPE, "application/octet-stream")
                .header("upload-offset", "3")
                .body(Body::from(pdf[3..].to_vec()))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(f.completions().is_empty());
}

#[tokio::test]
async fn requests_without_tus_resumable_are_412() {
    let f = fixture().await;
    let location = f.create(100).await;
    for (method, uri, version) in [
        (Method::POST, "/files", None),
        (Method::HEAD, location.as_str(), None),
        (Method::PATCH, location.as_str(), None),
        (Method::DELETE, location.as_str(), None),
        (Method::POST, "/files", Some("0.2.2")),
    ] {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(AUTHORIZATION, "Bearer alice")
            .header("upload-length", "100")
            .header("upload-offset", "0")
            .header("upload-metadata", video_metadata())
            .header(CONTENT_TYPE, "application/offset+octet-stream");
        if let Some(version) = version {
            builder = builder.header("tus-resumable", version);
        }
        let response = f
            .send(builder.body(Body::from(fake_mp4(100))).unwrap())
            .await;
        assert_eq!(
            response.status(),
            StatusCode::PRECONDITION_FAILED,
            "{method}"
        );
        assert_eq!(response.headers()["tus-version"], "1.0.0");
        assert_eq!(response.headers()["tus-resumable"], "1.0.0");
    }
    // Only the upload created above exists, still empty.
    assert_eq!(files_under(&f.root().join("uploads")).len(), 2);
    assert_eq!(f.offset(&location).await, 0);
}

#[tokio::test]
async fn unauthorized_requests_are_refused_and_change_nothing() {
    let f = fixture().await;
    let create_as = |user: Option<&'static str>, lesson: &'static str| {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri("/files")
            .header("tus-resumable", "1.0.0")
            .header("upload-length", "1000")
            .header(
                "upload-metadata",
                metadata_header(&[("lessonId", lesson), ("filetype", "video/mp4")]),
            );
        if let Some(user) = user {
            builder = builder.header(AUTHORIZATION, format!("Bearer {user}"));
        }
        builder.body(Body::empty()).unwrap()
    };
    assert_eq!(
        f.send(create_as(None, "lesson-1")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        f.send(create_as(Some("intruder"), "lesson-1"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let response = f.send(create_as(Some("mallory"), "lesson-1")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(text(response).await.contains("instructors"));
    // bob teaches another lesson.
    assert_eq!(
        f.send(create_as(Some("bob"), "lesson-1")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(files_under(&f.root()).is_empty());

    // alice's upload is hers alone.
    let source = fake_mp4(1000);
    let location = f.create(1000).await;
    assert_eq!(
        f.patch(&location, 0, &source[..100], None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        f.head(&location, "bob").await.status(),
        StatusCode::FORBIDDEN
    );
    let response = f
        .send(
            request(Method::PATCH, &location, "bob")
                .header(CONTENT_TYPE, "application/offset+octet-stream")
                .header("upload-offset", "100")
                .body(Body::from(source[100..].to_vec()))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = f
        .send(
            request(Method::DELETE, &location, "bob")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = f
        .send(
            Request::builder()
                .method(Method::HEAD)
                .uri(&location)
                .header("tus-resumable", "1.0.0")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(f.offset(&location).await, 100);
    assert!(f.completions().is_empty());
}

#[tokio::test]
async fn a_deleted_upload_is_gone() {
    let f = fixture().await;
    let source = fake_mp4(1000);
    let location = f.create(1000).await;
    assert_eq!(
        f.patch(&location, 0, &source[..500], None).await.status(),
        StatusCode::NO_CONTENT
    );
    let response = f
        .send(
            request(Method::DELETE, &location, "alice")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()["tus-resumable"], "1.0.0");
    assert_eq!(
        f.head(&location, "alice").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        f.patch(&location, 500, &source[500..], None).await.status(),
        StatusCode::NOT_FOUND
    );
    let response = f
        .send(
            request(Method::DELETE, &location, "alice")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(files_under(&f.root()).is_empty());
    assert!(f.completions().is_empty());
}

#[tokio::test]
async fn ids_that_try_to_leave_the_root_are_404_and_touch_nothing() {
    let f = fixture().await;
    // A file beside the root, and a real upload whose id an attacker might try to reach.
    let outside = f.dir.path().join("secret.json");
    std::fs::write(&outside, b"{\"keep\": true}").unwrap();
    let location = f.create(1000).await;
    let id = id_of(&location);
    let before = files_under(f.dir.path());

    let attempts = [
        "/files/..%2Fsecret.json".to_owned(),
        "/files/..%2F..%2F..%2Fsecret".to_owned(),
        "/files/%2e%2e%2f%2e%2e%2fsecret".to_owned(),
        "/files/..".to_owned(),
        "/files/../secret.json".to_owned(),
        format!("/files/{id}%2F..%2F..%2F..%2Fsecret"),
        format!("/files/{id}.json"),
        format!("/files/{}", id.as_str().to_uppercase()),
        "/files/%2Fetc%2Fpasswd".to_owned(),
        "/files/%FF%FE".to_owned(),
    ];
    for uri in &attempts {
        for method in [Method::HEAD, Method::PATCH, Method::DELETE] {
            let response = f
                .send(
                    request(method.clone(), uri, "alice")
                        .header(CONTENT_TYPE, "application/offset+octet-stream")
                        .header("upload-offset", "0")
                        .body(Body::from(fake_mp4(100)))
                        .unwrap(),
                )
                .await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {uri}");
        }
    }
    assert_eq!(files_under(f.dir.path()), before);
    assert_eq!(std::fs::read(&outside).unwrap(), b"{\"keep\": true}");
    assert_eq!(f.offset(&location).await, 0);
}

#[tokio::test]
async fn creation_with_upload_stores_the_first_bytes() {
    let f = fixture().await;
    let source = fake_mp4(5000);
    let response = f
        .send(
            request(Method::POST, "/files", "alice")
                .header("upload-length", "5000")
                .header("upload-metadata", video_metadata())
                .header(CONTENT_TYPE, "application/offset+octet-stream")
                .header("upload-checksum", checksum_header("sha1", &source[..3000]))
                .body(Body::from(source[..3000].to_vec()))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header_u64(&response, "upload-offset"), 3000);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(f.offset(&location).await, 3000);
    assert_eq!(
        f.patch(&location, 3000, &source[3000..], None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(f.completions().len(), 1);
}

/// A body that sends `first`, then waits for more that never comes (a client that went
/// silent without closing its connection). `taken` fires once the server has read `first`.
struct StalledBody {
    body: Body,
    taken: tokio::sync::oneshot::Receiver<()>,
    _keep_open: tokio::sync::oneshot::Sender<()>,
}

fn stalled_body(first: Vec<u8>) -> StalledBody {
    let (keep_open, closed) = tokio::sync::oneshot::channel::<()>();
    let (taken_tx, taken) = tokio::sync::oneshot::channel::<()>();
    let stream = futures_util::stream::unfold(
        (Some(first), Some((taken_tx, closed))),
        |(first, rest)| async move {
            if let Some(first) = first {
                return Some((Ok::<_, std::io::Error>(Bytes::from(first)), (None, rest)));
            }
            // Asked for more: the first chunk has been read. Then park until the test ends.
            let (taken_tx, closed) = rest?;
            let _ = taken_tx.send(());
            let _ = closed.await;
            None
        },
    );
    StalledBody {
        body: Body::from_stream(stream),
        taken,
        _keep_open: keep_open,
    }
}

#[tokio::test]
async fn a_stalled_patch_is_stopped_by_the_resuming_client_and_keeps_its_bytes() {
    let f = fixture_with(TusConfig {
        max_size: MAX_SIZE,
        lock_grace: Duration::from_millis(50),
        ..TusConfig::default()
    })
    .await;
    let source = fake_mp4(10_000);
    let location = f.create(10_000).await;
    let StalledBody {
        body,
        taken,
        _keep_open,
    } = stalled_body(source[..4000].to_vec());
    let stalled = tokio::spawn(
        f.app.clone().oneshot(
            request(Method::PATCH, &location, "alice")
                .header(CONTENT_TYPE, "application/offset+octet-stream")
                .header("upload-offset", "0")
                .body(body)
                .unwrap(),
        ),
    );
    taken.await.unwrap();
    // The client comes back on another connection: the HEAD waits for the stalled PATCH,
    // asks it to stop, and answers with what it kept.
    assert_eq!(f.offset(&location).await, 4000);
    let response = stalled.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header_u64(&response, "upload-offset"), 4000);
    assert!(text(response).await.contains("4000 of its bytes were kept"));
    assert_eq!(
        f.patch(&location, 4000, &source[4000..], None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let completions = f.completions();
    assert_eq!(completions.len(), 1);
    assert_eq!(std::fs::read(&completions[0].path).unwrap(), source);
}

#[tokio::test]
async fn a_stalled_checksummed_patch_keeps_nothing() {
    let f = fixture_with(TusConfig {
        max_size: MAX_SIZE,
        lock_grace: Duration::from_millis(50),
        ..TusConfig::default()
    })
    .await;
    let source = fake_mp4(10_000);
    let location = f.create(10_000).await;
    let StalledBody {
        body,
        taken,
        _keep_open,
    } = stalled_body(source[..4000].to_vec());
    let stalled = tokio::spawn(
        f.app.clone().oneshot(
            request(Method::PATCH, &location, "alice")
                .header(CONTENT_TYPE, "application/offset+octet-stream")
                .header("upload-offset", "0")
                .header("upload-checksum", checksum_header("sha1", &source))
                .body(body)
                .unwrap(),
        ),
    );
    taken.await.unwrap();
    // Part of a checksummed body cannot be verified, so none of it counts.
    assert_eq!(f.offset(&location).await, 0);
    let response = stalled.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header_u64(&response, "upload-offset"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_killed_at_half_resumes_from_heads_offset() {
    // A long grace: the HEAD below waits for the server to settle the dropped PATCH by itself.
    let f = fixture_with(TusConfig {
        max_size: MAX_SIZE,
        lock_grace: Duration::from_secs(60),
        ..TusConfig::default()
    })
    .await;
    let source = test_mp4(f.dir.path());
    let location = f.create(source.len() as u64).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = f.app.clone();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // A client that sends half the body and drops the connection. `Expect: 100-continue` tells
    // it when the server has started reading the body (and holds the upload).
    let half = source.len() / 2;
    let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {address}\r\nTus-Resumable: 1.0.0\r\n\
         Authorization: Bearer alice\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: 0\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        source.len()
    );
    client.write_all(head.as_bytes()).await.unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(client.read(&mut byte).await.unwrap(), 1);
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100 Continue"));
    client.write_all(&source[..half]).await.unwrap();
    client.flush().await.unwrap();
    drop(client);

    let offset = f.offset(&location).await;
    println!(
        "killed at {half} of {} bytes; HEAD says resume at {offset}",
        source.len()
    );
    assert_eq!(offset, half as u64);
    assert!(f.completions().is_empty());

    // Resume with exactly the bytes the server lacks.
    let rest = &source[offset as usize..];
    let response = f
        .patch(
            &location,
            offset,
            rest,
            Some(checksum_header("sha256", rest)),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(half + rest.len(), source.len());
    let completions = f.completions();
    assert_eq!(completions.len(), 1);
    assert_eq!(
        sha256(&std::fs::read(&completions[0].path).unwrap()),
        sha256(&source)
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_of_a_50_mb_upload_in_1_mb_patches() {
    const MB: usize = 1024 * 1024;
    let f = fixture().await;
    let source = fake_mp4(50 * MB);
    let location = f.create(source.len() as u64).await;
    let started = Instant::now();
    for (i, chunk) in source.chunks(MB).enumerate() {
        let response = f.patch(&location, (i * MB) as u64, chunk, None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let elapsed = started.elapsed();
    let completions = f.completions();
    assert_eq!(completions.len(), 1);
    assert_eq!(
        std::fs::metadata(&completions[0].path).unwrap().len(),
        source.len() as u64
    );
    println!(
        "tus upload: 50 MiB in 50 PATCHes of 1 MiB (fsync each) in {:.2} s: {:.1} MiB/s",
        elapsed.as_secs_f64(),
        50.0 / elapsed.as_secs_f64()
    );
}
