//! The header contract and a minimal way to read headers without a NATS client crate.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// The event id, a UUID v7. JetStream de-duplicates messages on it.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// The event type: the subject, `<context>.<entity>.<event>`.
pub const CE_TYPE: &str = "ce-type";
/// The producing context, equal to the subject's first segment.
pub const CE_SOURCE: &str = "ce-source";
/// When the event happened: RFC 3339, UTC, milliseconds (`2025-01-31T12:34:56.789Z`).
pub const CE_TIME: &str = "ce-time";
/// The W3C trace-context parent of the event.
pub const TRACEPARENT: &str = "traceparent";

/// Read access to message headers by name.
///
/// Implemented for `HashMap<String, String>`, `[(String, String)]` and `Vec<(String, String)>`
/// (and references to them), so a subgraph can adapt whatever its NATS client hands it.
/// The provided implementations look for an exact name first, then fall back to an ASCII
/// case-insensitive match, because some clients canonicalise header names (`Ce-Type`).
/// When a name appears more than once, a list returns its first value.
pub trait HeaderLookup {
    /// The value of header `name`, if present.
    fn get(&self, name: &str) -> Option<&str>;
}

impl<S: BuildHasher> HeaderLookup for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name)
            .or_else(|| {
                self.iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value)
            })
            .map(String::as_str)
    }
}

impl HeaderLookup for [(String, String)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(key, _)| key == name)
            .or_else(|| self.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)))
            .map(|(_, value)| value.as_str())
    }
}

impl HeaderLookup for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<&str> {
        HeaderLookup::get(self.as_slice(), name)
    }
}

impl<T: HeaderLookup + ?Sized> HeaderLookup for &T {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn list_lookup_prefers_exact_name_then_ignores_case() {
        let list = pairs(&[("Ce-Type", "canonical"), ("ce-type", "exact"), ("a", "1")]);
        assert_eq!(HeaderLookup::get(&list, CE_TYPE), Some("exact"));
        assert_eq!(
            HeaderLookup::get(list.as_slice(), "CE-TYPE"),
            Some("canonical")
        );
        assert_eq!(HeaderLookup::get(&list, "a"), Some("1"));
        assert_eq!(HeaderLookup::get(&list, CE_SOURCE), None);

        let duplicated = pairs(&[("traceparent", "first"), ("traceparent", "second")]);
        assert_eq!(HeaderLookup::get(&duplicated, TRACEPARENT), Some("first"));
    }

    #[test]
    fn map_lookup_prefers_exact_name_then_ignores_case() {
        let map: HashMap<String, String> = pairs(&[
            ("Nats-Msg-Id", "exact"),
            ("NATS-MSG-ID", "other case"),
            ("Ce-Time", "t"),
        ])
        .into_iter()
        .collect();
        assert_eq!(HeaderLookup::get(&map, MSG_ID), Some("exact"));
        assert!(HeaderLookup::get(&map, "nats-msg-id").is_some());
        assert_eq!(HeaderLookup::get(&map, CE_TIME), Some("t"));
        assert_eq!(HeaderLookup::get(&map, TRACEPARENT), None);
    }
}
