//! A search request as a client sends it, and its validation.

use crate::cursor;
use crate::schema::{facet_value, Level};
use crate::SearchError;

/// Longest query accepted, in characters after trimming.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most distinct words a query may have (each word costs a handful of term, fuzzy and prefix
/// lookups).
pub const MAX_QUERY_WORDS: usize = 32;
/// Largest page size (`first`).
pub const MAX_FIRST: i64 = 100;
/// Hits beyond this position are not served: no one pages that far, and collecting the top
/// `offset + first` hits costs memory and time in `offset`.
pub const MAX_RESULT_WINDOW: usize = 1_000;
/// Longest filter value accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 100;

/// A search: `search(query, filter, first, after)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchRequest {
    /// The user's text, as typed. It is never parsed as query syntax: `title:x AND (` is five
    /// words. Every word must match (in any text field, exactly, stemmed, with typos allowed
    /// by its length, or, for the last word, as a prefix).
    pub query: String,
    /// Facet filters; all given ones must hold.
    pub filter: Filter,
    /// Page size, 1 to [`MAX_FIRST`].
    pub first: i64,
    /// The `end_cursor` of the previous page, to get the next one.
    pub after: Option<String>,
}

/// Facet filters. `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// A category, compared case-insensitively (`Programming` = `programming`).
    pub category: Option<String>,
    /// A level.
    pub level: Option<Level>,
    /// A language, as a BCP 47 primary subtag (`en`, `ru`); compared case-insensitively.
    pub language: Option<String>,
    /// Free (`true`) or paid (`false`) only.
    pub is_free: Option<bool>,
}

/// A request that passed validation.
#[derive(Debug)]
pub(crate) struct ValidRequest<'a> {
    /// Trimmed.
    pub query: &'a str,
    pub first: usize,
    /// Position of the first hit to return.
    pub offset: usize,
    pub category: Option<String>,
    pub level: Option<Level>,
    pub language: Option<String>,
    pub is_free: Option<bool>,
}

impl SearchRequest {
    /// Checks everything a client controls; the first problem found is the error.
    pub(crate) fn validate(&self) -> Result<ValidRequest<'_>, SearchError> {
        let query = self.query.trim();
        if query.is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        // Count at most one past the limit: the length of a 10 MB query is not worth knowing.
        let len = query.chars().take(MAX_QUERY_CHARS + 1).count();
        if len > MAX_QUERY_CHARS {
            return Err(SearchError::QueryTooLong {
                len: query.chars().count(),
                max: MAX_QUERY_CHARS,
            });
        }
        let first = Some(self.first)
            .filter(|f| (1..=MAX_FIRST).contains(f))
            .and_then(|f| usize::try_from(f).ok())
            .ok_or(SearchError::InvalidFirst {
                first: self.first,
                max: MAX_FIRST,
            })?;
        let offset = match &self.after {
            None => 0,
            Some(after) => cursor::decode(after)?
                .checked_add(1)
                .filter(|offset| *offset < MAX_RESULT_WINDOW)
                .ok_or(SearchError::InvalidCursor {
                    reason: "it points past the last page served",
                })?,
        };
        Ok(ValidRequest {
            query,
            first,
            offset,
            category: filter_value("category", self.filter.category.as_deref())?,
            level: self.filter.level,
            language: filter_value("language", self.filter.language.as_deref())?,
            is_free: self.filter.is_free,
        })
    }
}

/// A filter value normalised like the indexed facet values.
fn filter_value(field: &'static str, value: Option<&str>) -> Result<Option<String>, SearchError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if value.chars().any(char::is_control) {
        return Err(SearchError::InvalidFilter {
            field,
            reason: "must not contain control characters",
        });
    }
    if value.chars().count() > MAX_FILTER_CHARS {
        return Err(SearchError::InvalidFilter {
            field,
            reason: "is longer than 100 characters",
        });
    }
    facet_value(value)
        .map(Some)
        .ok_or(SearchError::InvalidFilter {
            field,
            reason: "must not be empty",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, first: i64) -> SearchRequest {
        SearchRequest {
            query: query.into(),
            first,
            ..Default::default()
        }
    }

    #[test]
    fn query_is_trimmed_and_limited_in_characters_not_bytes() {
        let valid = request("  rust  ", 10);
        assert_eq!(valid.validate().unwrap().query, "rust");
        // 200 Cyrillic letters are 400 bytes: still within the limit.
        let cyrillic = "я".repeat(MAX_QUERY_CHARS);
        assert!(request(&cyrillic, 10).validate().is_ok());
        let too_long = format!("{cyrillic}я");
        assert!(matches!(
            request(&too_long, 10).validate(),
            Err(SearchError::QueryTooLong { len: 201, max: 200 })
        ));
    }

    #[test]
    fn first_must_be_between_1_and_100() {
        for first in [i64::MIN, -1, 0, 101, 1_000, i64::MAX] {
            let err = request("rust", first).validate().unwrap_err();
            assert!(
                matches!(err, SearchError::InvalidFirst { first: f, max: 100 } if f == first),
                "{first}: {err:?}"
            );
            assert!(err.is_bad_input());
        }
        assert_eq!(request("rust", 1).validate().unwrap().first, 1);
        assert_eq!(request("rust", 100).validate().unwrap().first, 100);
    }

    #[test]
    fn filters_are_normalised_and_checked() {
        let mut req = request("rust", 10);
        req.filter.category = Some("  Programming ".into());
        req.filter.language = Some("EN".into());
        let valid = req.validate().unwrap();
        assert_eq!(valid.category.as_deref(), Some("programming"));
        assert_eq!(valid.language.as_deref(), Some("en"));

        for (category, reason) in [
            ("   ", "must not be empty"),
            ("a\u{0}b", "must not contain control characters"),
        ] {
            req.filter.category = Some(category.into());
            assert!(matches!(
                req.validate(),
                Err(SearchError::InvalidFilter { field: "category", reason: r }) if r == reason
            ));
        }
        req.filter.category = None;
        req.filter.language = Some("x".repeat(101));
        let err = req.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "filter.language is longer than 100 characters"
        );
    }
}
