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

/// The cursors of the `len` hits of a page whose last hit has cursor `end_cursor`, in order
/// (empty when the page is, or when `end_cursor` is not one of ours).
pub(crate) fn cursors_of_page(end_cursor: Option<&str>, len: usize) -> Vec<String> {
    let Some(end) = end_cursor.and_then(|c| decode(c).ok()) else {
        return Vec::new();
    };
    let Some(start) = end.checked_add(1).and_then(|next| next.checked_sub(len)) else {
        return Vec::new();
    };
    (start..=end).map(encode).collect()
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
    fn cursors_of_a_page_end_at_its_end_cursor() {
        assert_eq!(
            cursors_of_page(Some(&encode(21)), 3),
            vec![encode(19), encode(20), encode(21)]
        );
        assert!(cursors_of_page(None, 0).is_empty());
        assert!(cursors_of_page(Some(&encode(1)), 5).is_empty());
        assert!(cursors_of_page(Some("junk"), 1).is_empty());
        assert!(cursors_of_page(Some(&encode(usize::MAX)), 1).is_empty());
    }

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
