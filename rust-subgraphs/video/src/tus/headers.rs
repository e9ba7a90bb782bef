//! Parsing and writing the tus 1.0 headers that carry more than a number: `Upload-Metadata`
//! and `Upload-Checksum` (<https://tus.io/protocols/resumable-upload>).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::Digest as _;
use subtle::ConstantTimeEq as _;

use crate::storage::Metadata;

use super::TusError;

/// Most pairs in `Upload-Metadata`.
pub const MAX_METADATA_PAIRS: usize = 32;

/// Parses a non-negative decimal header value (`Upload-Length`, `Upload-Offset`): digits only,
/// no sign, no spaces, at most 20 of them.
pub(crate) fn parse_u64(name: &'static str, value: &[u8]) -> Result<u64, TusError> {
    let invalid = TusError::InvalidHeader {
        name,
        reason: "must be a non-negative integer",
    };
    if value.is_empty() || value.len() > 20 || !value.iter().all(u8::is_ascii_digit) {
        return Err(invalid);
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(invalid)
}

/// Parses `Upload-Metadata`: comma-separated pairs of a key and, after one space, its value in
/// base64 (a key alone has an empty value). Keys are unique, non-empty, printable ASCII without
/// spaces or commas; values must decode to UTF-8 text without control characters.
pub(crate) fn parse_metadata(value: &[u8], max_bytes: usize) -> Result<Metadata, TusError> {
    let invalid = |reason| TusError::InvalidHeader {
        name: "Upload-Metadata",
        reason,
    };
    if value.len() > max_bytes {
        return Err(invalid("is too long"));
    }
    let text = std::str::from_utf8(value).map_err(|_| invalid("must be ASCII"))?;
    let mut metadata = Metadata::new();
    if text.trim().is_empty() {
        return Ok(metadata);
    }
    for pair in text.split(',') {
        let pair = pair.trim_matches(' ');
        let (key, encoded) = match pair.split_once(' ') {
            Some((key, encoded)) => (key, encoded),
            None => (pair, ""),
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(invalid(
                "has an empty key or one with a space, comma or non-ASCII character",
            ));
        }
        let decoded = STANDARD
            .decode(encoded)
            .map_err(|_| invalid("has a value that is not base64"))?;
        let decoded =
            String::from_utf8(decoded).map_err(|_| invalid("has a value that is not UTF-8"))?;
        if decoded.chars().any(char::is_control) {
            return Err(invalid("has a value with control characters"));
        }
        if metadata.insert(key.to_owned(), decoded).is_some() {
            return Err(invalid("repeats a key"));
        }
        if metadata.len() > MAX_METADATA_PAIRS {
            return Err(invalid("has too many pairs"));
        }
    }
    Ok(metadata)
}

/// Writes metadata back as an `Upload-Metadata` value (for `HEAD`).
pub(crate) fn encode_metadata(metadata: &Metadata) -> String {
    metadata
        .iter()
        .map(|(key, value)| {
            if value.is_empty() {
                key.clone()
            } else {
                format!("{key} {}", STANDARD.encode(value))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A checksum algorithm of the tus checksum extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumAlgorithm {
    /// SHA-1: the one every tus client implements.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// The names of the supported algorithms, as `Tus-Checksum-Algorithm` lists them.
    pub const SUPPORTED: &'static str = "sha1,sha256";

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            _ => None,
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }
}

/// `Upload-Checksum`: an algorithm and the digest the client computed over the request's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checksum {
    pub(crate) algorithm: ChecksumAlgorithm,
    pub(crate) digest: Vec<u8>,
}

/// Parses `Upload-Checksum: <algorithm> <base64 digest>`.
pub(crate) fn parse_checksum(value: &[u8]) -> Result<Checksum, TusError> {
    let invalid = |reason| TusError::InvalidHeader {
        name: "Upload-Checksum",
        reason,
    };
    let text = std::str::from_utf8(value).map_err(|_| invalid("must be ASCII"))?;
    let (name, encoded) = text
        .split_once(' ')
        .ok_or(invalid("must be an algorithm and a base64 digest"))?;
    let algorithm = ChecksumAlgorithm::from_name(name).ok_or(invalid(
        "names an unsupported algorithm (supported: sha1, sha256)",
    ))?;
    let digest = STANDARD
        .decode(encoded)
        .map_err(|_| invalid("has a digest that is not base64"))?;
    if digest.len() != algorithm.digest_len() {
        return Err(invalid(
            "has a digest of the wrong length for its algorithm",
        ));
    }
    Ok(Checksum { algorithm, digest })
}

/// Hashes a request's body as it streams.
pub(crate) enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub(crate) fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm {
            ChecksumAlgorithm::Sha1 => Self::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(bytes),
            Self::Sha256(h) => h.update(bytes),
        }
    }

    /// Whether the digest of what was hashed equals `expected` (compared in constant time).
    pub(crate) fn matches(self, expected: &[u8]) -> bool {
        let digest = match self {
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
        };
        digest.ct_eq(expected).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips() {
        let header =
            b"lessonId bGVzc29uLTE=,filename ZGVtbyDDqXTDqS5tcDQ=,filetype dmlkZW8vbXA0,is_public";
        let metadata = parse_metadata(header, 4096).unwrap();
        assert_eq!(metadata["lessonId"], "lesson-1");
        assert_eq!(metadata["filename"], "demo été.mp4");
        assert_eq!(metadata["filetype"], "video/mp4");
        assert_eq!(metadata["is_public"], "");
        assert_eq!(
            parse_metadata(encode_metadata(&metadata).as_bytes(), 4096).unwrap(),
            metadata
        );
        assert!(parse_metadata(b"", 4096).unwrap().is_empty());
    }

    #[test]
    fn hostile_metadata_is_refused() {
        for bad in [
            &b"a dmlkZW8=,a dmlkZW8="[..],
            b"a not-base64!",
            b"a /w==",
            b"a AQ==",
            b",",
            b"k\xc3\xa9y dmlkZW8=",
        ] {
            assert!(
                matches!(
                    parse_metadata(bad, 4096),
                    Err(TusError::InvalidHeader { .. })
                ),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse_metadata(&[b'a'; 5000], 4096).is_err());
        let many: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        assert!(parse_metadata(many.join(",").as_bytes(), 4096).is_err());
    }

    #[test]
    fn checksums_parse_and_verify() {
        // sha1("hello") = aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d
        let checksum = parse_checksum(b"sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=").unwrap();
        assert_eq!(checksum.algorithm, ChecksumAlgorithm::Sha1);
        let mut hasher = Hasher::new(checksum.algorithm);
        hasher.update(b"hel");
        hasher.update(b"lo");
        assert!(hasher.matches(&checksum.digest));
        let mut other = Hasher::new(checksum.algorithm);
        other.update(b"hello!");
        assert!(!other.matches(&checksum.digest));

        for bad in [
            &b"md5 XUFAKrxLKna5cZ2REBfFkg=="[..],
            b"sha1",
            b"sha1 !!!",
            b"sha256 qvTGHdzF6KLavt4PO0gs2a6pQ00=",
        ] {
            assert!(parse_checksum(bad).is_err());
        }
    }

    #[test]
    fn numbers_are_strict() {
        assert_eq!(parse_u64("Upload-Offset", b"0").unwrap(), 0);
        assert_eq!(
            parse_u64("Upload-Offset", b"18446744073709551615").unwrap(),
            u64::MAX
        );
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1.0",
            b"18446744073709551616",
            b"0x10",
        ] {
            assert!(parse_u64("Upload-Offset", bad).is_err());
        }
    }
}
