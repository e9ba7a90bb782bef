//! NATS subjects of the form `<context>.<entity>.<event>`.

use std::fmt;
use std::str::FromStr;

use crate::EventError;

/// The longest a subject segment may be, in characters.
pub const MAX_SEGMENT_LEN: usize = 64;

/// A validated event subject, `<context>.<entity>.<event>` (e.g. `course.course.published`).
///
/// Each segment is 1 to [`MAX_SEGMENT_LEN`] characters of `a-z`, `0-9` and `_`, starting with
/// a letter. A subject is always concrete: the NATS wildcards `*` and `>` are rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    full: String,
    /// Byte index where the entity segment starts.
    entity_start: usize,
    /// Byte index where the event segment starts.
    event_start: usize,
}

impl Subject {
    /// Parses and validates a subject.
    ///
    /// # Errors
    /// [`EventError::SubjectSegmentCount`] unless there are exactly three segments, then for the
    /// first segment that breaks a rule: [`EventError::SubjectSegmentLength`],
    /// [`EventError::SubjectSegmentStart`] or [`EventError::SubjectSegmentChar`].
    pub fn parse(subject: &str) -> Result<Self, EventError> {
        let segments: Vec<&str> = subject.split('.').collect();
        let [context, entity, event] = segments.as_slice() else {
            return Err(EventError::SubjectSegmentCount {
                subject: subject.to_owned(),
                found: segments.len(),
            });
        };
        for segment in [context, entity, event] {
            check_segment(segment).map_err(|rule| rule.into_error(subject, segment))?;
        }
        Ok(Self {
            full: subject.to_owned(),
            entity_start: context.len() + 1,
            event_start: context.len() + 1 + entity.len() + 1,
        })
    }

    /// The producing context, e.g. `course`.
    pub fn context(&self) -> &str {
        &self.full[..self.entity_start - 1]
    }

    /// The entity the event is about, e.g. `course`.
    pub fn entity(&self) -> &str {
        &self.full[self.entity_start..self.event_start - 1]
    }

    /// What happened, e.g. `published`.
    pub fn event(&self) -> &str {
        &self.full[self.event_start..]
    }

    /// The whole subject, e.g. `course.course.published`.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The JetStream stream that holds this subject: the producing context in uppercase
    /// (`course.course.published` → `COURSE`). That stream captures `<context>.>`.
    pub fn stream_name(&self) -> String {
        self.context().to_ascii_uppercase()
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl FromStr for Subject {
    type Err = EventError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Which segment rule a string broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentRule {
    Length,
    Start,
    Char(char),
}

impl SegmentRule {
    fn into_error(self, subject: &str, segment: &str) -> EventError {
        let (subject, segment_owned) = (subject.to_owned(), segment.to_owned());
        match self {
            Self::Length => EventError::SubjectSegmentLength {
                subject,
                segment: segment_owned,
                len: segment.len(),
            },
            Self::Start => EventError::SubjectSegmentStart {
                subject,
                segment: segment_owned,
            },
            Self::Char(found) => EventError::SubjectSegmentChar {
                subject,
                segment: segment_owned,
                found,
            },
        }
    }
}

/// Checks one segment (also used for the `ce-source` context name).
pub(crate) fn check_segment(segment: &str) -> Result<(), SegmentRule> {
    let Some(first) = segment.chars().next() else {
        return Err(SegmentRule::Length);
    };
    if !first.is_ascii_lowercase() {
        return Err(SegmentRule::Start);
    }
    if let Some(found) = segment
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(SegmentRule::Char(found));
    }
    if segment.len() > MAX_SEGMENT_LEN {
        return Err(SegmentRule::Length);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_segments_and_displays_the_original() {
        let subject = Subject::parse("course.course.published").unwrap();
        assert_eq!(subject.context(), "course");
        assert_eq!(subject.entity(), "course");
        assert_eq!(subject.event(), "published");
        assert_eq!(subject.to_string(), "course.course.published");

        let subject: Subject = "payment.order.paid".parse().unwrap();
        assert_eq!(
            (subject.context(), subject.entity(), subject.event()),
            ("payment", "order", "paid")
        );
        assert_eq!(subject.as_str(), "payment.order.paid");
    }

    #[test]
    fn accepts_digits_underscores_and_64_char_segments() {
        let long = format!("a{}", "b".repeat(MAX_SEGMENT_LEN - 1));
        let text = format!("video_2.{long}.transcoded_v2");
        let subject = Subject::parse(&text).unwrap();
        assert_eq!(subject.context(), "video_2");
        assert_eq!(subject.entity(), long);
        assert_eq!(subject.event(), "transcoded_v2");
    }

    #[test]
    fn rejects_anything_but_three_segments() {
        for (text, found) in [
            ("course", 1),
            ("course.published", 2),
            ("course.course.published.v2", 4),
            ("", 1),
        ] {
            assert_eq!(
                Subject::parse(text),
                Err(EventError::SubjectSegmentCount {
                    subject: text.to_owned(),
                    found
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_empty_and_too_long_segments() {
        assert_eq!(
            Subject::parse("course..published"),
            Err(EventError::SubjectSegmentLength {
                subject: "course..published".into(),
                segment: String::new(),
                len: 0
            })
        );
        assert!(matches!(
            Subject::parse("course.course."),
            Err(EventError::SubjectSegmentLength { len: 0, .. })
        ));
        let too_long = "a".repeat(MAX_SEGMENT_LEN + 1);
        assert_eq!(
            Subject::parse(&format!("course.{too_long}.published")),
            Err(EventError::SubjectSegmentLength {
                subject: format!("course.{too_long}.published"),
                segment: too_long,
                len: 65
            })
        );
    }

    #[test]
    fn rejects_segments_not_starting_with_a_letter() {
        for (text, segment) in [
            ("1course.course.published", "1course"),
            ("course._course.published", "_course"),
            ("course.course.Published", "Published"),
        ] {
            assert_eq!(
                Subject::parse(text),
                Err(EventError::SubjectSegmentStart {
                    subject: text.to_owned(),
                    segment: segment.to_owned()
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_characters_outside_the_alphabet() {
        for (text, found) in [
            ("course.course.publishedAt", 'A'),
            ("course.course-item.published", '-'),
            ("course.c*.published", '*'),
            ("course.course.p>", '>'),
            ("course.cours\u{e9}.published", '\u{e9}'),
            ("course.co urse.published", ' '),
        ] {
            assert!(
                matches!(
                    Subject::parse(text),
                    Err(EventError::SubjectSegmentChar { found: f, .. }) if f == found
                ),
                "{text}: {:?}",
                Subject::parse(text)
            );
        }
    }

    #[test]
    fn stream_name_is_the_uppercase_context() {
        let stream = |s: &str| Subject::parse(s).unwrap().stream_name();
        assert_eq!(stream("course.course.published"), "COURSE");
        assert_eq!(stream("course.lesson.updated"), "COURSE");
        assert_eq!(stream("payment.order.paid"), "PAYMENT");
        assert_eq!(stream("video_2.video.transcoded"), "VIDEO_2");
    }
}
