//! Signed playback URLs: signing and verifying, every alteration refused, key rotation, playlist
//! rewriting, and serving files with byte ranges and validators — end to end with FFmpeg reading
//! an HLS stream through the signed URLs.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use coursegraph_video::serve::{ByteRange, Playback, SEGMENT_CACHE_CONTROL, SHORT_CACHE_CONTROL};
use coursegraph_video::signing::{
    rewrite_playlist, sign, verify, KeyError, Keyring, PlaylistError, SignError, SignatureError,
    SigningKey, MIN_SECRET_BYTES,
};
use http_body_util::BodyExt;
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

const SCOPE: &str = "/play/v1/hls/";
const MASTER: &str = "/play/v1/hls/master.m3u8";

fn key(id: &str, fill: u8) -> SigningKey {
    SigningKey::new(id, &[fill; MIN_SECRET_BYTES]).expect("a valid key")
}

fn ring() -> Keyring {
    Keyring::new(key("k1", 1))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a valid time")
}

fn signed(keys: &Keyring) -> String {
    sign(
        keys,
        "v1",
        "learner-42",
        now() + Duration::minutes(10),
        SCOPE,
    )
    .expect("valid fields")
}

/// The value of a query parameter.
fn param<'q>(query: &'q str, name: &str) -> &'q str {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .expect("the parameter")
}

/// The query with one parameter's value replaced.
fn with_param(query: &str, name: &str, value: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((n, _)) if n == name => format!("{n}={value}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn a_signed_url_verifies_and_grants_its_video_and_viewer() {
    let keys = ring();
    let query = signed(&keys);
    assert_eq!(param(&query, "video"), "v1");
    assert_eq!(param(&query, "scope"), SCOPE);
    let grant = verify(&keys, MASTER, &query, now()).unwrap();
    assert_eq!(grant.video_id, "v1");
    assert_eq!(grant.viewer_id, "learner-42");
    assert_eq!(grant.scope, SCOPE);
    assert_eq!(grant.key_id, "k1");
    assert_eq!(grant.expires_at, now() + Duration::minutes(10));
    // The grant renders the query it was verified from, for the playlists' URIs.
    assert_eq!(grant.query(), query);
    // Every file under the prefix, at any depth.
    for path in [
        "/play/v1/hls/240p/index.m3u8",
        "/play/v1/hls/240p/seg_000.ts",
    ] {
        assert_eq!(verify(&keys, path, &query, now()).unwrap(), grant);
    }
    // Other parameters (a player's cache buster) are ignored.
    assert_eq!(
        verify(&keys, MASTER, &format!("{query}&_=123"), now()).unwrap(),
        grant
    );
}

#[test]
fn a_url_expires_at_its_expiry() {
    let keys = ring();
    let query = signed(&keys);
    let exp = now() + Duration::minutes(10);
    assert!(verify(&keys, MASTER, &query, exp - Duration::seconds(1)).is_ok());
    for at in [exp, exp + Duration::days(1)] {
        assert_eq!(
            verify(&keys, MASTER, &query, at),
            Err(SignatureError::Expired {
                expired_at: exp.unix_timestamp()
            })
        );
    }
}

/// Another character of the same class, so the value stays well-formed.
fn other_char(c: char) -> char {
    match c {
        '0'..='8' | 'a'..='y' | 'A'..='Y' => char::from(c as u8 + 1),
        '9' => '0',
        'z' => 'a',
        'Z' => 'A',
        '-' => '_',
        '_' => '-',
        other => panic!("no replacement for {other:?}"),
    }
}

#[test]
fn every_single_character_change_is_altered() {
    let keys = ring();
    let query = signed(&keys);
    let mut checked = 0;
    for name in ["video", "viewer", "exp", "scope", "sig"] {
        let value = param(&query, name);
        for (at, c) in value.char_indices() {
            if c == '/' {
                continue; // the prefix's separators: changed below
            }
            let replacement = other_char(c);
            if name == "exp" && at == 0 && replacement == '0' {
                continue; // a leading zero is malformed, checked elsewhere
            }
            let mut changed = value.to_owned();
            changed.replace_range(at..at + c.len_utf8(), &replacement.to_string());
            let altered = with_param(&query, name, &changed);
            // The path follows a changed prefix, so only the signature can tell.
            let path = if name == "scope" {
                format!("{changed}master.m3u8")
            } else {
                MASTER.to_owned()
            };
            assert_eq!(
                verify(&keys, &path, &altered, now()),
                Err(SignatureError::Altered),
                "{name}={changed}"
            );
            checked += 1;
        }
    }
    // A prefix moved up or down a directory is altered too.
    for scope in ["/play/v1/", "/play/v1/hls/240p/"] {
        let altered = with_param(&query, "scope", scope);
        let path = format!("{scope}index.m3u8");
        assert_eq!(
            verify(&keys, &path, &altered, now()),
            Err(SignatureError::Altered)
        );
    }
    assert!(checked > 60, "{checked}");
}

#[test]
fn a_url_signed_by_another_key_of_the_ring_is_altered_and_an_unknown_key_refused() {
    let keys = ring().accept(key("k2", 2)).unwrap();
    let query = signed(&keys);
    assert_eq!(
        verify(&keys, MASTER, &with_param(&query, "kid", "k2"), now()),
        Err(SignatureError::Altered)
    );
    assert_eq!(
        verify(&keys, MASTER, &with_param(&query, "kid", "k3"), now()),
        Err(SignatureError::UnknownKey { kid: "k3".into() })
    );
    // Same id, another secret: altered.
    let impostor = Keyring::new(key("k1", 9));
    assert_eq!(
        verify(&impostor, MASTER, &query, now()),
        Err(SignatureError::Altered)
    );
}

#[test]
fn a_path_outside_the_signed_prefix_is_refused() {
    let keys = ring();
    let query = signed(&keys);
    for path in [
        "/play/v2/hls/master.m3u8",
        "/play/v1/master.m3u8",
        "/play/v1/hlsx/master.m3u8",
        "/play/v1/hls/../../v2/hls/master.m3u8",
        "/play/v1/hls/./master.m3u8",
        "/play/v1/hls//master.m3u8",
        "/play/v1/hls/%2e%2e/secret.mp4",
        "/play/v1/hls/..\\source.mp4",
        "play/v1/hls/master.m3u8",
    ] {
        assert_eq!(
            verify(&keys, path, &query, now()),
            Err(SignatureError::OutsidePrefix),
            "{path}"
        );
    }
}

#[test]
fn missing_and_malformed_parameters_are_refused() {
    let keys = ring();
    let query = signed(&keys);
    assert_eq!(
        verify(&keys, MASTER, "", now()),
        Err(SignatureError::Missing { param: "video" })
    );
    let without_sig: String = query
        .split('&')
        .filter(|p| !p.starts_with("sig="))
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(
        verify(&keys, MASTER, &without_sig, now()),
        Err(SignatureError::Missing { param: "sig" })
    );
    let malformed = |q: &str| match verify(&keys, MASTER, q, now()) {
        Err(SignatureError::Malformed { param, .. }) => param,
        other => panic!("{q}: {other:?}"),
    };
    assert_eq!(malformed(&format!("{query}&viewer=someone-else")), "viewer");
    assert_eq!(malformed(&with_param(&query, "exp", "18000x0600")), "exp");
    assert_eq!(malformed(&with_param(&query, "exp", "01800000600")), "exp");
    assert_eq!(malformed(&with_param(&query, "exp", "123456789012")), "exp");
    assert_eq!(malformed(&with_param(&query, "sig", "short")), "sig");
    assert_eq!(
        malformed(&with_param(&query, "sig", &"+".repeat(43))),
        "sig"
    );
    assert_eq!(malformed(&with_param(&query, "video", "v%31")), "video");
    assert_eq!(
        malformed(&with_param(&query, "scope", "/play/../")),
        "scope"
    );
    assert_eq!(
        malformed(&with_param(&query, "scope", "/play/v1/hls")),
        "scope"
    );
    assert_eq!(
        malformed(&format!("{query}&pad={}", "a".repeat(5000))),
        "query"
    );
}

#[test]
fn sign_refuses_what_verify_could_not_read() {
    let keys = ring();
    let exp = now();
    let field = |r: Result<String, SignError>| match r {
        Err(SignError::InvalidField { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(field(sign(&keys, "v 1", "u", exp, SCOPE)), "video");
    assert_eq!(field(sign(&keys, "v1", "", exp, SCOPE)), "viewer");
    assert_eq!(field(sign(&keys, "v1", "u", exp, "/play/v1")), "scope");
    assert_eq!(field(sign(&keys, "v1", "u", exp, "/play/../v1/")), "scope");
    assert_eq!(field(sign(&keys, "v1", "u", exp, "/")), "scope");
    let before_1970 = OffsetDateTime::from_unix_timestamp(-1).unwrap();
    assert_eq!(
        sign(&keys, "v1", "u", before_1970, SCOPE),
        Err(SignError::ExpiryOutOfRange { unix: -1 })
    );
}

#[test]
fn keys_need_32_byte_secrets_and_distinct_ids() {
    assert_eq!(
        SigningKey::new("k1", &[7; 31]).unwrap_err(),
        KeyError::SecretTooShort {
            id: "k1".into(),
            bytes: 31,
            min: 32
        }
    );
    assert!(matches!(
        SigningKey::new("k 1", &[7; 32]),
        Err(KeyError::InvalidKeyId { .. })
    ));
    assert!(matches!(
        SigningKey::new(&"k".repeat(33), &[7; 32]),
        Err(KeyError::InvalidKeyId { .. })
    ));
    assert_eq!(
        ring().accept(key("k1", 2)).unwrap_err(),
        KeyError::DuplicateKeyId { id: "k1".into() }
    );
    // The secret never shows in logs.
    let debug = format!("{:?}", key("k1", 0xab));
    assert!(debug.contains("k1") && !debug.contains("171"), "{debug}");
}

#[test]
fn rotation_keeps_old_urls_valid_until_the_old_key_is_dropped() {
    let old_ring = ring();
    let old_url = signed(&old_ring);

    // Step 1: the new key is accepted everywhere before it signs.
    let step1 = ring().accept(key("k2", 2)).unwrap();
    assert_eq!(step1.current().id(), "k1");
    assert!(verify(&step1, MASTER, &old_url, now()).is_ok());

    // Step 2: the new key signs; URLs of both keys verify.
    let step2 = Keyring::new(key("k2", 2)).accept(key("k1", 1)).unwrap();
    let new_url = signed(&step2);
    assert_eq!(param(&new_url, "kid"), "k2");
    assert_eq!(
        verify(&step2, MASTER, &old_url, now()).unwrap().key_id,
        "k1"
    );
    assert_eq!(
        verify(&step2, MASTER, &new_url, now()).unwrap().key_id,
        "k2"
    );
    assert!(verify(&step1, MASTER, &new_url, now()).is_ok());

    // Step 3: the old key is dropped.
    let step3 = Keyring::new(key("k2", 2));
    assert_eq!(
        verify(&step3, MASTER, &old_url, now()),
        Err(SignatureError::UnknownKey { kid: "k1".into() })
    );
    assert!(verify(&step3, MASTER, &new_url, now()).is_ok());
}

const MASTER_PLAYLIST: &str = "#EXTM3U\r
#EXT-X-VERSION:7\r
#EXT-X-INDEPENDENT-SEGMENTS\r
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"English\",LANGUAGE=\"en\",URI=\"captions/en.m3u8\"\r
#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240,SUBTITLES=\"subs\"\r
240p/index.m3u8\r
#EXT-X-STREAM-INF:BANDWIDTH=1400000,RESOLUTION=1280x720,SUBTITLES=\"subs\"\r
720p/index.m3u8\r
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI=\"240p/iframes.m3u8\"\r
";

const MEDIA_PLAYLIST: &str = "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI=\"init.mp4\"
#EXT-X-DATERANGE:ID=\"x\",START-DATE=\"2026-01-01T00:00:00Z\",X-ASSET-URI=\"elsewhere\"
#EXTINF:2.000000,
seg_000.m4s

#EXTINF:1.500000,
seg_001.m4s
#EXT-X-ENDLIST
";

/// Every URI of a playlist: its URI lines and its `URI="…"` attributes.
fn uris(playlist: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in playlist.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        if !line.starts_with('#') {
            found.push(line.to_owned());
        }
        for (at, _) in line.match_indices("URI=\"") {
            if at > 0 && matches!(line.as_bytes()[at - 1], b':' | b',') {
                let rest = &line[at + 5..];
                found.push(rest[..rest.find('"').expect("a closing quote")].to_owned());
            }
        }
    }
    found
}

#[test]
fn rewritten_playlists_sign_every_uri() {
    let keys = ring();
    let query = signed(&keys);
    for (playlist, dir) in [
        (MASTER_PLAYLIST, SCOPE),
        (MEDIA_PLAYLIST, "/play/v1/hls/240p/"),
    ] {
        let rewritten = rewrite_playlist(playlist, &query).unwrap();
        let before = uris(playlist);
        let after = uris(&rewritten);
        assert!(!before.is_empty());
        assert_eq!(after.len(), before.len(), "{rewritten}");
        for (original, uri) in before.iter().zip(&after) {
            let (path, uri_query) = uri.split_once('?').expect("a query on every URI");
            assert_eq!(path, original);
            // Resolved against the playlist's directory, as a player does, it verifies.
            let grant = verify(&keys, &format!("{dir}{path}"), uri_query, now()).unwrap();
            assert_eq!(grant.video_id, "v1");
        }
        // Everything else is kept, line by line.
        assert_eq!(rewritten.lines().count(), playlist.lines().count());
        assert!(
            rewritten.contains("X-ASSET-URI=\"elsewhere\"") == playlist.contains("X-ASSET-URI")
        );
    }
}

#[test]
fn playlists_with_uris_that_could_escape_are_refused() {
    let query = signed(&ring());
    for (uri, line) in [
        ("https://cdn.example/seg.ts", 3),
        ("/play/v2/hls/seg.ts", 3),
        ("../v2/seg.ts", 3),
        ("a/./seg.ts", 3),
        ("seg.ts?x=1", 3),
        ("seg%2ets", 3),
    ] {
        let playlist = format!("#EXTM3U\n#EXTINF:2,\n{uri}\n");
        assert!(
            matches!(
                rewrite_playlist(&playlist, &query),
                Err(PlaylistError::UnsafeUri { line: l, .. }) if l == line
            ),
            "{uri}"
        );
        let in_tag = format!("#EXTM3U\n#EXT-X-MAP:URI=\"{uri}\"\n");
        assert!(
            matches!(
                rewrite_playlist(&in_tag, &query),
                Err(PlaylistError::UnsafeUri { line: 2, .. })
            ),
            "{uri}"
        );
    }
    assert_eq!(
        rewrite_playlist("<html>", &query),
        Err(PlaylistError::NotAPlaylist)
    );
    assert_eq!(
        rewrite_playlist(MEDIA_PLAYLIST, "sig=a\n#EXT-X-ENDLIST"),
        Err(PlaylistError::InvalidQuery)
    );
}

// --- Serving -------------------------------------------------------------------------------

/// Writes a 2-second, 10 fps HLS rendition from FFmpeg's test sources under
/// `<root>/v1/hls/240p/` (1-second segments) and a master playlist at `<root>/v1/hls/`.
fn make_hls(root: &Path) {
    let rendition = root.join("v1/hls/240p");
    std::fs::create_dir_all(&rendition).expect("a temporary folder");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64:rate=10:duration=2",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "10",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-c:a", "aac", "-b:a", "32k", "-shortest"])
        .args(["-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"])
        .arg("-hls_segment_filename")
        .arg(rendition.join("seg_%03d.ts"))
        .arg(rendition.join("index.m3u8"))
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    std::fs::write(
        root.join("v1/hls/master.m3u8"),
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=64x64\n240p/index.m3u8\n",
    )
    .expect("a master playlist");
    // What must never be served: the source beside the HLS files, and a file type players
    // do not need inside them.
    std::fs::write(root.join("v1/source.mp4"), b"the original upload").expect("a file");
    std::fs::write(rendition.join("notes.txt"), b"internal").expect("a file");
}

fn playback(root: &Path) -> Playback {
    Playback::new(ring(), root, "/play/").expect("a valid mount")
}

async fn get(
    playback: &Playback,
    path_and_query: &str,
    headers: &[(header::HeaderName, &str)],
) -> Response {
    let uri: Uri = path_and_query.parse().expect("a valid URI");
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            name.clone(),
            HeaderValue::from_str(value).expect("a valid header"),
        );
    }
    playback.respond(&Method::GET, &uri, &map, now()).await
}

async fn body(response: Response) -> Vec<u8> {
    response
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes()
        .to_vec()
}

fn header_of(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("a text header"))
        .unwrap_or("")
}

#[tokio::test]
async fn segments_are_served_with_byte_ranges() {
    let dir = TempDir::new().unwrap();
    make_hls(dir.path());
    let playback = playback(dir.path());
    let query = signed(&ring());
    let url = format!("/play/v1/hls/240p/seg_000.ts?{query}");
    let whole = std::fs::read(dir.path().join("v1/hls/240p/seg_000.ts")).unwrap();
    let len = whole.len();
    assert!(len > 1000);

    let full = get(&playback, &url, &[]).await;
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(header_of(&full, header::ACCEPT_RANGES), "bytes");
    assert_eq!(header_of(&full, header::CONTENT_TYPE), "video/mp2t");
    assert_eq!(
        header_of(&full, header::CACHE_CONTROL),
        SEGMENT_CACHE_CONTROL
    );
    assert_eq!(header_of(&full, header::CONTENT_LENGTH), len.to_string());
    assert_eq!(body(full).await, whole);

    for (range, start, end) in [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, len - 1),
        ("bytes=-188", len - 188, len - 1),
        ("bytes=10-99999999", 10, len - 1),
        (&format!("bytes=-{}", len + 5), 0, len - 1),
        (&format!("bytes={}-{}", len - 1, len - 1), len - 1, len - 1),
    ] {
        let part = get(&playback, &url, &[(header::RANGE, range)]).await;
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header_of(&part, header::CONTENT_RANGE),
            format!("bytes {start}-{end}/{len}")
        );
        assert_eq!(
            header_of(&part, header::CONTENT_LENGTH),
            (end - start + 1).to_string()
        );
        assert_eq!(body(part).await, whole[start..=end], "{range}");
    }

    for range in [
        format!("bytes={len}-"),
        "bytes=-0".to_owned(),
        format!("bytes={}-{}", len + 10, len + 20),
    ] {
        let refused = get(&playback, &url, &[(header::RANGE, &range)]).await;
        assert_eq!(
            refused.status(),
            StatusCode::RANGE_NOT_SATISFIABLE,
            "{range}"
        );
        assert_eq!(
            header_of(&refused, header::CONTENT_RANGE),
            format!("bytes */{len}")
        );
        assert!(body(refused).await.is_empty());
    }

    // Several ranges, another unit or bad syntax: the whole file.
    for range in [
        "bytes=0-1,5-9",
        "items=0-5",
        "bytes=9-1",
        "bytes=a-b",
        "bytes=+1-2",
    ] {
        let ignored = get(&playback, &url, &[(header::RANGE, range)]).await;
        assert_eq!(ignored.status(), StatusCode::OK, "{range}");
        assert_eq!(body(ignored).await.len(), len);
    }
}

#[test]
fn range_headers_are_read_as_rfc_9110_says() {
    assert_eq!(
        ByteRange::parse("bytes=0-0", 10),
        ByteRange::Part { start: 0, end: 0 }
    );
    assert_eq!(
        ByteRange::parse("bytes=-3", 10),
        ByteRange::Part { start: 7, end: 9 }
    );
    assert_eq!(ByteRange::parse("bytes=-3", 0), ByteRange::Unsatisfiable);
    assert_eq!(ByteRange::parse("bytes=0-", 0), ByteRange::Unsatisfiable);
    assert_eq!(
        ByteRange::parse("bytes=99999999999999999999999-", 10),
        ByteRange::Unsatisfiable
    );
    assert_eq!(
        ByteRange::parse("bytes=2-99999999999999999999999", 10),
        ByteRange::Part { start: 2, end: 9 }
    );
    assert_eq!(ByteRange::parse("bytes=-", 10), ByteRange::Full);
}

#[tokio::test]
async fn etags_answer_304_and_guard_ranges() {
    let dir = TempDir::new().unwrap();
    make_hls(dir.path());
    let playback = playback(dir.path());
    let query = signed(&ring());
    for file in ["240p/seg_001.ts", "240p/index.m3u8", "master.m3u8"] {
        let url = format!("/play/v1/hls/{file}?{query}");
        let first = get(&playback, &url, &[]).await;
        assert_eq!(first.status(), StatusCode::OK, "{file}");
        let etag = header_of(&first, header::ETAG).to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
            "{etag}"
        );
        let full = body(first).await;

        for value in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
            "*".into(),
        ] {
            let cached = get(&playback, &url, &[(header::IF_NONE_MATCH, &value)]).await;
            assert_eq!(cached.status(), StatusCode::NOT_MODIFIED, "{file} {value}");
            assert_eq!(header_of(&cached, header::ETAG), etag);
            assert!(body(cached).await.is_empty());
        }
        let changed = get(&playback, &url, &[(header::IF_NONE_MATCH, "\"other\"")]).await;
        assert_eq!(changed.status(), StatusCode::OK);

        // If-Range: the range only while the representation is the same one.
        let same = get(
            &playback,
            &url,
            &[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, &etag)],
        )
        .await;
        assert_eq!(same.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(body(same).await, full[..10]);
        let stale = get(
            &playback,
            &url,
            &[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"old\"")],
        )
        .await;
        assert_eq!(stale.status(), StatusCode::OK);
        assert_eq!(body(stale).await, full);
    }
}

#[tokio::test]
async fn playlists_are_rewritten_and_cached_briefly() {
    let dir = TempDir::new().unwrap();
    make_hls(dir.path());
    let playback = playback(dir.path());
    let keys = ring();
    let query = signed(&keys);
    let response = get(
        &playback,
        &format!("/play/v1/hls/240p/index.m3u8?{query}&_=1"),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(
        header_of(&response, header::CACHE_CONTROL),
        SHORT_CACHE_CONTROL
    );
    let text = String::from_utf8(body(response).await).unwrap();
    let on_disk = std::fs::read_to_string(dir.path().join("v1/hls/240p/index.m3u8")).unwrap();
    let segments = uris(&on_disk);
    assert_eq!(segments.len(), 2, "{on_disk}");
    // Each segment carries the signed query (without the request's other parameters).
    assert_eq!(
        uris(&text),
        segments
            .iter()
            .map(|s| format!("{s}?{query}"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_storyboard_map_signs_its_sprite_and_captions_are_served_as_written() {
    let dir = TempDir::new().unwrap();
    let video = dir.path().join("v1/hls");
    std::fs::create_dir_all(video.join("captions")).unwrap();
    std::fs::write(
        video.join("storyboard.vtt"),
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg#xywh=0,0,160,90\n\n00:00:02.000 --> 00:00:04.000\nstoryboard.jpg#xywh=160,0,160,90\n",
    )
    .unwrap();
    // A caption line that happens to start with the sprite's name is text, not a reference.
    let caption =
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg#xywh=1 is what the slide says\n";
    std::fs::write(video.join("captions/en.vtt"), caption).unwrap();
    let playback = playback(dir.path());
    let query = signed(&ring());

    let map = get(
        &playback,
        &format!("/play/v1/hls/storyboard.vtt?{query}"),
        &[],
    )
    .await;
    assert_eq!(map.status(), StatusCode::OK);
    assert_eq!(header_of(&map, header::CACHE_CONTROL), SHORT_CACHE_CONTROL);
    let text = String::from_utf8(body(map).await).unwrap();
    let references: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("storyboard.jpg"))
        .collect();
    assert_eq!(
        references,
        [
            format!("storyboard.jpg?{query}#xywh=0,0,160,90"),
            format!("storyboard.jpg?{query}#xywh=160,0,160,90")
        ]
    );

    let captions = get(
        &playback,
        &format!("/play/v1/hls/captions/en.vtt?{query}"),
        &[],
    )
    .await;
    assert_eq!(captions.status(), StatusCode::OK);
    assert_eq!(String::from_utf8(body(captions).await).unwrap(), caption);
}

#[tokio::test]
async fn refusals_and_files_that_are_not_served() {
    let dir = TempDir::new().unwrap();
    make_hls(dir.path());
    let playback = playback(dir.path());
    let keys = ring();
    let query = signed(&keys);

    let expired = get(&playback, &format!("{MASTER}?{query}"), &[]).await;
    assert_eq!(expired.status(), StatusCode::OK);
    let later = playback
        .respond(
            &Method::GET,
            &format!("{MASTER}?{query}").parse().unwrap(),
            &HeaderMap::new(),
            now() + Duration::hours(1),
        )
        .await;
    assert_eq!(later.status(), StatusCode::FORBIDDEN);
    assert_eq!(header_of(&later, header::CACHE_CONTROL), "no-store");
    assert!(String::from_utf8(body(later).await)
        .unwrap()
        .contains("expired"));

    let altered = with_param(&query, "viewer", "learner-43");
    assert_eq!(
        get(&playback, &format!("{MASTER}?{altered}"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&playback, MASTER, &[]).await.status(),
        StatusCode::FORBIDDEN
    );

    // A URL signs its whole scope: signed for the video's directory, an mp4 beside the HLS
    // files is served (so the subgraph must sign the HLS directory, never one holding the
    // source); a URL signed for the HLS directory does not reach it.
    let wide = sign(
        &keys,
        "v1",
        "learner-42",
        now() + Duration::minutes(10),
        "/play/v1/",
    )
    .unwrap();
    assert_eq!(
        get(&playback, &format!("/play/v1/source.mp4?{wide}"), &[])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get(
            &playback,
            &format!("/play/v1/hls/240p/notes.txt?{query}"),
            &[]
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(
            &playback,
            &format!("/play/v1/hls/240p/seg_999.ts?{query}"),
            &[]
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&playback, &format!("/play/v1/hls/240p/?{query}"), &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&playback, &format!("/play/v1/source.mp4?{query}"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let post = playback
        .respond(
            &Method::POST,
            &format!("{MASTER}?{query}").parse().unwrap(),
            &HeaderMap::new(),
            now(),
        )
        .await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header_of(&post, header::ALLOW), "GET, HEAD");

    assert!(Playback::new(ring(), dir.path(), "/play").is_err());
    assert!(Playback::new(ring(), dir.path(), "/play/../").is_err());
}

#[tokio::test]
async fn head_requests_through_the_router_get_headers_only() {
    let dir = TempDir::new().unwrap();
    make_hls(dir.path());
    let router = Arc::new(playback(dir.path())).router();
    // The router uses the current time: sign for it.
    let query = sign(
        &ring(),
        "v1",
        "learner-42",
        OffsetDateTime::now_utc() + Duration::minutes(5),
        SCOPE,
    )
    .unwrap();
    let len = std::fs::metadata(dir.path().join("v1/hls/240p/seg_000.ts"))
        .unwrap()
        .len();
    let request = axum::http::Request::head(format!("/play/v1/hls/240p/seg_000.ts?{query}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_LENGTH),
        len.to_string()
    );
    assert!(body(response).await.is_empty());
}

/// FFmpeg, as an HLS client, reads the whole stream through the signed URL: master playlist,
/// rendition playlist and every segment, each fetched by the URIs the server rewrote.
#[tokio::test]
async fn ffmpeg_plays_the_stream_through_signed_urls_end_to_end() {
    let dir = TempDir::new().unwrap();
    make_hls(dir.path());
    let router = Arc::new(playback(dir.path())).router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let keys = ring();
    let probe = |query: String| {
        let url = format!("http://{address}{MASTER}?{query}");
        tokio::process::Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=nb_read_frames:format=duration"])
            .args(["-of", "default=noprint_wrappers=1"])
            .arg(url)
            .output()
    };
    let valid = sign(
        &keys,
        "v1",
        "learner-42",
        OffsetDateTime::now_utc() + Duration::minutes(5),
        SCOPE,
    )
    .unwrap();
    let output = probe(valid.clone()).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // 2 seconds at 10 frames per second, every frame decoded from the served segments.
    assert!(stdout.contains("nb_read_frames=20"), "{stdout}");
    let duration: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("duration="))
        .unwrap()
        .parse()
        .unwrap();
    assert!((duration - 2.0).abs() < 0.2, "{duration}");

    let expired = sign(
        &keys,
        "v1",
        "learner-42",
        OffsetDateTime::now_utc() - Duration::seconds(1),
        SCOPE,
    )
    .unwrap();
    let altered = with_param(&valid, "viewer", "someone-else");
    for refused in [expired, altered] {
        let output = probe(refused).await.unwrap();
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("403"));
    }
    server.abort();
}
