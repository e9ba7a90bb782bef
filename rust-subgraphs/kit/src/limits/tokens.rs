//! Counting a document's GraphQL lexical tokens, before anything parses it.
//!
//! Tokens are what the spec's lexer produces: punctuators (`! $ & ( ) ... : = @ [ ] { | }`),
//! names, numbers, strings and block strings. Whitespace, commas, comments and the byte-order
//! mark are ignored tokens and do not count. A character no token can start with counts as
//! one token (the parser refuses the document anyway), so the count never runs ahead of what
//! a document could cost to parse.

/// How many lexical tokens `source` has. Counts them all (the body is capped at
/// [`MAX_BODY_BYTES`](crate::graphql::MAX_BODY_BYTES), so this is one pass over at most 64 KiB).
pub(crate) fn count_tokens(source: &str) -> u64 {
    let bytes = source.as_bytes();
    let mut count = 0u64;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                count += 1;
                i += 3;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                count += 1;
                i = skip_block_string(bytes, i + 3);
            }
            b'"' => {
                count += 1;
                i = skip_string(bytes, i + 1);
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                count += 1;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                count += 1;
                i += 1;
                // Digits, a fraction and an exponent: `-12.5e+3` is one token.
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'.'
                        || ((bytes[i] == b'+' || bytes[i] == b'-')
                            && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
            }
            byte => {
                // The byte-order mark (EF BB BF) is ignored; any other character (a
                // punctuator, or one the parser will refuse) is one token.
                if bytes[i..].starts_with("\u{feff}".as_bytes()) {
                    i += 3;
                    continue;
                }
                count += 1;
                i += utf8_len(byte);
            }
        }
    }
    count
}

/// The position after the closing quote of a string whose content starts at `i` (or the end
/// of the line or input when it is unterminated: the parser refuses it).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The position after the closing `"""` of a block string whose content starts at `i`.
fn skip_block_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Length in bytes of the UTF-8 character starting with `first`.
fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::count_tokens;

    #[test]
    fn counts_punctuators_names_numbers_and_strings() {
        // query Q ( $ first : Int = 20 ) { search ( query : "a b" , first : $ first ) { ... on X { id } } }
        let source = r#"query Q($first: Int = 20) { search(query: "a b", first: $first) { ... on X { id } } }"#;
        assert_eq!(count_tokens(source), 30);
    }

    #[test]
    fn ignores_whitespace_commas_comments_and_the_bom() {
        assert_eq!(
            count_tokens("\u{feff} { a, b,,, c } # a comment { with } tokens\n"),
            5
        );
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("# only a comment"), 0);
    }

    #[test]
    fn strings_with_escapes_and_block_strings_are_one_token_each() {
        assert_eq!(count_tokens(r#"{ a(b: "x \" { } y") }"#), 8);
        assert_eq!(
            count_tokens("{ a(b: \"\"\"two\n { lines } \\\"\"\" inside\"\"\") }"),
            8
        );
    }

    #[test]
    fn numbers_are_one_token() {
        assert_eq!(count_tokens("{ a(b: -12.5e+3, c: 7) }"), 11);
    }

    #[test]
    fn unterminated_and_unknown_characters_still_count() {
        assert_eq!(count_tokens("{ a(b: \"open"), 6);
        assert_eq!(count_tokens("§ ü ?"), 3);
    }
}
