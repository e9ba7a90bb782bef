//! W3C trace-context `traceparent` values.

use std::fmt;
use std::str::FromStr;

use crate::EventError;

/// A validated W3C `traceparent`: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
///
/// Only version `00` is accepted, hex digits must be lowercase (as the W3C spec requires),
/// and an all-zero trace id or parent id is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceParent {
    /// The canonical text; valid by construction.
    value: String,
    flags: u8,
}

/// `00-` + 32 + `-` + 16 + `-` + 2.
const LEN: usize = 55;

impl TraceParent {
    /// Parses and validates a `traceparent` value.
    ///
    /// # Errors
    /// [`EventError::MalformedTraceparent`] when the shape, version or hex digits are wrong,
    /// [`EventError::ZeroTraceId`] / [`EventError::ZeroParentId`] for all-zero ids.
    pub fn parse(value: &str) -> Result<Self, EventError> {
        let malformed = |reason| EventError::MalformedTraceparent {
            value: value.to_owned(),
            reason,
        };
        let fields: Vec<&str> = value.split('-').collect();
        let [version, trace_id, parent_id, flags] = fields.as_slice() else {
            return Err(malformed("expected 4 fields separated by `-`"));
        };
        if *version != "00" {
            return Err(malformed("only version 00 is supported"));
        }
        if value.len() != LEN {
            return Err(malformed(
                "expected 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>",
            ));
        }
        for field in [trace_id, parent_id, flags] {
            if !field
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(malformed("expected lowercase hex digits"));
            }
        }
        // Field lengths: the total is 55 and each field is hex, so check each one explicitly.
        if trace_id.len() != 32 || parent_id.len() != 16 || flags.len() != 2 {
            return Err(malformed(
                "expected 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>",
            ));
        }
        if trace_id.bytes().all(|b| b == b'0') {
            return Err(EventError::ZeroTraceId {
                value: value.to_owned(),
            });
        }
        if parent_id.bytes().all(|b| b == b'0') {
            return Err(EventError::ZeroParentId {
                value: value.to_owned(),
            });
        }
        let flags = u8::from_str_radix(flags, 16)
            .map_err(|_| malformed("expected lowercase hex digits"))?;
        Ok(Self {
            value: value.to_owned(),
            flags,
        })
    }

    /// The 32 hex digit trace id.
    pub fn trace_id(&self) -> &str {
        &self.value[3..35]
    }

    /// The 16 hex digit parent (span) id.
    pub fn parent_id(&self) -> &str {
        &self.value[36..52]
    }

    /// The trace flags byte.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the `sampled` flag (bit 0) is set.
    pub fn is_sampled(&self) -> bool {
        self.flags & 0x01 == 0x01
    }

    /// The whole value, e.g. `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl FromStr for TraceParent {
    type Err = EventError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn reason(value: &str) -> &'static str {
        match TraceParent::parse(value) {
            Err(EventError::MalformedTraceparent { reason, .. }) => reason,
            other => panic!("{value}: expected MalformedTraceparent, got {other:?}"),
        }
    }

    #[test]
    fn parses_ids_and_flags() {
        let tp = TraceParent::parse(VALID).unwrap();
        assert_eq!(tp.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tp.parent_id(), "00f067aa0ba902b7");
        assert_eq!(tp.flags(), 1);
        assert!(tp.is_sampled());
        assert_eq!(tp.to_string(), VALID);

        let unsampled: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
            .parse()
            .unwrap();
        assert!(!unsampled.is_sampled());
    }

    #[test]
    fn rejects_all_zero_trace_id() {
        let value = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
        assert_eq!(
            TraceParent::parse(value),
            Err(EventError::ZeroTraceId {
                value: value.into()
            })
        );
    }

    #[test]
    fn rejects_all_zero_parent_id() {
        let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01";
        assert_eq!(
            TraceParent::parse(value),
            Err(EventError::ZeroParentId {
                value: value.into()
            })
        );
    }

    #[test]
    fn rejects_malformed_values_with_the_broken_rule() {
        // Version: `ff` is forbidden by the spec, later ones are not supported here.
        assert_eq!(
            reason("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "only version 00 is supported"
        );
        assert_eq!(
            reason("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "only version 00 is supported"
        );
        // Uppercase and non-hex digits.
        assert_eq!(
            reason("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            "expected lowercase hex digits"
        );
        assert_eq!(
            reason("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01"),
            "expected lowercase hex digits"
        );
        // Wrong field counts and lengths (including a 55-char value with shifted fields).
        for value in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-00",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
            "00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01",
        ] {
            assert!(
                matches!(
                    TraceParent::parse(value),
                    Err(EventError::MalformedTraceparent { .. })
                ),
                "{value}"
            );
        }
    }
}
