//! Page cursors: opaque to clients, the position of a hit in the ranking underneath.
//!
//! A cursor is the URL-safe base64 (no padding) of `cg-search:v1:<position>`, the 0-based
//! position of a hit in the result list; `after: cursor` continues at `position + 1`. The
//! ranking is fixed for a given index state (ties are broken by document address), so pages
//! of one state neither overlap nor leave gaps; when the index changes between two pages,
//! hits may shift by the number of documents that changed, as with any offset pagination.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::SearchError;

const PREFIX: &str = "cg-search:v1:";
/// No cursor this module writes is longer: the prefix and 20 digits, in base64.
const MAX_CURSOR_LEN: usize = 64;

/// The cursor of the hit at `position`.
pub(crate) fn encode(position: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{position}"))
}

/// The position a cursor stands for.
///
/// # Errors
/// [`SearchError::InvalidCursor`] for anything [`encode`] did not write.
pub(crate) fn decode(cursor: &str) -> Result<usize, SearchError> {
    let invalid = |reason| SearchError::InvalidCursor { reason };
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid("it is too long"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid("it is not base64"))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid("it was not issued by search"))?;
    let digits = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| invalid("it was not issued by search"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("it was not issued by search"));
    }
    digits
        .parse()
        .map_err(|_| invalid("it points past the last page served"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_opaque() {
        for position in [0, 1, 19, 999, usize::MAX] {
            let cursor = encode(position);
            assert!(cursor.len() <= MAX_CURSOR_LEN);
            assert_eq!(decode(&cursor).unwrap(), position);
        }
    }

    #[test]
    fn rejects_anything_it_did_not_write() {
        let base64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let cases = [
            String::new(),
            "not a cursor!".into(),
            "x".repeat(10_000),
            base64("19"),
            base64("cg-search:v1:"),
            base64("cg-search:v1:-1"),
            base64("cg-search:v1:+1"),
            base64("cg-search:v1:1e3"),
            base64("cg-search:v2:1"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
            base64("cg-search:v1:99999999999999999999999"),
        ];
        for cursor in cases {
            let err = decode(&cursor).unwrap_err();
            assert!(
                matches!(err, SearchError::InvalidCursor { .. }),
                "{cursor:?}: {err:?}"
            );
        }
    }
}
