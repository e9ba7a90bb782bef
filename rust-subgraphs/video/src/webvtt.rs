//! WebVTT captions: parsing and validating an uploaded caption file, checking its language tag,
//! and cutting its text into segments for the search index.
//!
//! The syntax followed is the W3C WebVTT specification's (<https://www.w3.org/TR/webvtt1/>):
//!
//! - the file starts with an optional byte order mark and the line `WEBVTT`, optionally followed
//!   by a space or a tab and any text; header lines may follow up to the first blank line;
//! - lines end with CRLF, LF or CR (all three are accepted, even mixed);
//! - blocks are separated by blank lines; `NOTE`, `STYLE` and `REGION` blocks are skipped;
//! - a cue is an optional identifier line, a timing line `[hh:]mm:ss.ttt --> [hh:]mm:ss.ttt`
//!   (hours of two or more digits, minutes and seconds of two digits below 60, exactly three
//!   digits of milliseconds) with optional `name:value` settings, and one or more payload lines.
//!
//! [`parse`] is stricter than a browser's parser, which drops what it cannot read: an upload is
//! refused with the 1-based line number and what is wrong ([`CaptionError`]), so its author can
//! fix it. Beyond the syntax, it refuses what makes captions wrong for a learner: a cue ending
//! before (or when) it starts, cues overlapping one another (the rule: a cue must start
//! at or after the previous cue's end), an empty payload, a file with no cue, and files over
//! [`MAX_FILE_BYTES`] or [`MAX_CUES`]. [`validate`] then checks the cues against the video's
//! duration, which is known only once the video is probed.

use thiserror::Error;

/// Largest caption file accepted: 1 MiB (1,048,576 bytes). An hour of dense captions is about
/// 60 KB, so this leaves room for long lectures while bounding the parser's work.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Most cues accepted in one file: 10,000 (a cue every 2 s for more than 5 hours).
pub const MAX_CUES: usize = 10_000;

/// Longest span of one search segment, in milliseconds (6 s): cues are merged while the
/// segment, from its first cue's start to its last cue's end, stays within it. A search hit
/// seeks to the segment's start, so the word found is said at most this long after it.
pub const SEGMENT_MAX_MS: u64 = 6_000;

/// Longest silence inside one search segment, in milliseconds (2 s): a longer gap between two
/// cues starts a new segment, since it usually separates two thoughts.
pub const SEGMENT_MAX_GAP_MS: u64 = 2_000;

/// Longest text of one search segment, in bytes (500), unless a single cue is longer.
pub const SEGMENT_MAX_BYTES: usize = 500;

/// Longest language tag accepted, in characters (35: the length RFC 5646 §4.4.1 asks
/// implementations to support, enough for language, extended language, script, region and a
/// variant).
pub const MAX_LANGUAGE_CHARS: usize = 35;

/// A parsed caption file: its cues, in file order, which is also time order (see [`parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captions {
    /// The cues, each starting at or after the previous one's end.
    pub cues: Vec<Cue>,
}

/// One cue of a caption file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cue {
    /// The 1-based line number of its timing line, to name it in later errors
    /// ([`validate`]).
    pub line: usize,
    /// Its identifier line, when it has one.
    pub identifier: Option<String>,
    /// When it is shown, in milliseconds from the start of the video.
    pub start_ms: u64,
    /// When it is hidden, in milliseconds from the start of the video; after `start_ms`.
    pub end_ms: u64,
    /// Its settings (`align:start line:0` …) as written after the end time; empty when none.
    pub settings: String,
    /// Its text for search: tags (`<v Name>`, `<c.class>`, `<i>`, `<b>`, `<u>`, `<ruby>`,
    /// `<lang>`, timestamps) removed with ruby annotations (`<rt>`), character references
    /// (`&amp;` …) decoded, lines joined and runs of whitespace collapsed to one space.
    pub text: String,
    /// Its payload lines as written, joined with `\n`.
    pub raw_text: String,
}

/// Why a caption file is refused. Every variant but [`CaptionError::TooLarge`] names the
/// 1-based line where the problem is ([`CaptionError::line`]); messages are meant for the
/// file's author.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CaptionError {
    /// The file is larger than [`MAX_FILE_BYTES`]; nothing of it is read.
    #[error("the caption file is {bytes} bytes; at most {max} are allowed")]
    TooLarge {
        /// Its size in bytes.
        bytes: usize,
        /// The limit.
        max: usize,
    },

    /// The file is not UTF-8 text (WebVTT is always UTF-8).
    #[error("line {line}: not UTF-8 text; WebVTT files must be saved as UTF-8")]
    NotUtf8 {
        /// The line holding the first byte that is not UTF-8.
        line: usize,
    },

    /// The first line is not `WEBVTT` (optionally after a byte order mark, optionally followed
    /// by a space or tab and text).
    #[error("line {line}: a WebVTT file must start with the line `WEBVTT`")]
    MissingHeader {
        /// Always 1.
        line: usize,
    },

    /// A timing line follows the header without a blank line between them.
    #[error("line {line}: a blank line must separate the `WEBVTT` header from the first cue")]
    CueInHeader {
        /// The timing line.
        line: usize,
    },

    /// A cue's timing line cannot be read.
    #[error("line {line}: malformed timing line: {reason}; expected `[hh:]mm:ss.ttt --> [hh:]mm:ss.ttt`")]
    MalformedTiming {
        /// The timing line.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A cue ends before or when it starts.
    #[error("line {line}: the cue ends at {end_ms} ms, not after its start at {start_ms} ms")]
    EndNotAfterStart {
        /// The cue's timing line.
        line: usize,
        /// Its start, in milliseconds.
        start_ms: u64,
        /// Its end, in milliseconds.
        end_ms: u64,
    },

    /// A cue starts before the previous cue ends (cues must not overlap, and come in time
    /// order).
    #[error("line {line}: the cue starts at {start_ms} ms, before the cue of line {previous_line} ends at {previous_end_ms} ms; cues must not overlap")]
    Overlap {
        /// The cue's timing line.
        line: usize,
        /// Its start, in milliseconds.
        start_ms: u64,
        /// The previous cue's timing line.
        previous_line: usize,
        /// The previous cue's end, in milliseconds.
        previous_end_ms: u64,
    },

    /// A cue ends after the end of the video ([`validate`]).
    #[error("line {line}: the cue ends at {end_ms} ms, after the video's end at {duration_ms} ms")]
    PastEnd {
        /// The cue's timing line.
        line: usize,
        /// Its end, in milliseconds.
        end_ms: u64,
        /// The video's duration, in milliseconds.
        duration_ms: u64,
    },

    /// A cue has no payload, or a payload with nothing to show once tags are removed.
    #[error("line {line}: the cue has no text")]
    EmptyPayload {
        /// The cue's timing line.
        line: usize,
    },

    /// `-->` where no timing line may be: in a cue's text or a note (most often, a blank line
    /// is missing before the next cue).
    #[error("line {line}: unexpected `-->`; a blank line is probably missing before this cue (cue text and notes must not contain `-->`)")]
    UnexpectedArrow {
        /// The line holding it.
        line: usize,
    },

    /// A block that is neither a cue (no timing line in its first two lines) nor a `NOTE`,
    /// `STYLE` or `REGION` block.
    #[error("line {line}: this block is not a cue: no timing line in its first two lines")]
    NotACue {
        /// The block's first line.
        line: usize,
    },

    /// The file has more than [`MAX_CUES`] cues.
    #[error("line {line}: more than {max} cues")]
    TooManyCues {
        /// The timing line of the first cue over the limit.
        line: usize,
        /// The limit.
        max: usize,
    },

    /// The file has no cue at all: it would caption nothing.
    #[error("line {line}: the file ends without a single cue")]
    NoCues {
        /// The file's last line.
        line: usize,
    },
}

impl CaptionError {
    /// The 1-based line the error is about (`None` for [`CaptionError::TooLarge`]).
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::TooLarge { .. } => None,
            Self::NotUtf8 { line }
            | Self::MissingHeader { line }
            | Self::CueInHeader { line }
            | Self::MalformedTiming { line, .. }
            | Self::EndNotAfterStart { line, .. }
            | Self::Overlap { line, .. }
            | Self::PastEnd { line, .. }
            | Self::EmptyPayload { line }
            | Self::UnexpectedArrow { line }
            | Self::NotACue { line }
            | Self::TooManyCues { line, .. }
            | Self::NoCues { line } => Some(*line),
        }
    }
}

/// Parses and checks a WebVTT file (see the module's docs for what is refused).
///
/// # Errors
/// A [`CaptionError`] naming the first problem found, in file order ([`CaptionError::TooLarge`]
/// before anything is read).
pub fn parse(bytes: &[u8]) -> Result<Captions, CaptionError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(CaptionError::TooLarge {
            bytes: bytes.len(),
            max: MAX_FILE_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| CaptionError::NotUtf8 {
        line: count_lines(&bytes[..e.valid_up_to()]),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = split_lines(text);

    let first = lines.first().copied().unwrap_or("");
    let header_ok = first
        .strip_prefix("WEBVTT")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
    if !header_ok {
        return Err(CaptionError::MissingHeader { line: 1 });
    }
    // Header lines (old metadata such as `Kind:` and `Language:`) run to the first blank line.
    let mut i = 1;
    while i < lines.len() && !lines[i].is_empty() {
        if lines[i].contains("-->") {
            return Err(CaptionError::CueInHeader { line: i + 1 });
        }
        i += 1;
    }

    let mut cues: Vec<Cue> = Vec::new();
    while i < lines.len() {
        if lines[i].is_empty() {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && !lines[i].is_empty() {
            i += 1;
        }
        if let Some(cue) = read_block(&lines[start..i], start + 1)? {
            if cues.len() == MAX_CUES {
                return Err(CaptionError::TooManyCues {
                    line: cue.line,
                    max: MAX_CUES,
                });
            }
            if let Some(previous) = cues.last() {
                if cue.start_ms < previous.end_ms {
                    return Err(CaptionError::Overlap {
                        line: cue.line,
                        start_ms: cue.start_ms,
                        previous_line: previous.line,
                        previous_end_ms: previous.end_ms,
                    });
                }
            }
            cues.push(cue);
        }
    }
    if cues.is_empty() {
        return Err(CaptionError::NoCues {
            line: lines.len().max(1),
        });
    }
    Ok(Captions { cues })
}

/// Checks parsed captions against the video's duration, in milliseconds: no cue may end after
/// it (a cue ending exactly at the end is fine). Pass the probed duration rounded up to the
/// millisecond.
///
/// # Errors
/// [`CaptionError::PastEnd`] naming the first cue that ends too late.
pub fn validate(captions: &Captions, video_duration_ms: u64) -> Result<(), CaptionError> {
    match captions
        .cues
        .iter()
        .find(|cue| cue.end_ms > video_duration_ms)
    {
        Some(cue) => Err(CaptionError::PastEnd {
            line: cue.line,
            end_ms: cue.end_ms,
            duration_ms: video_duration_ms,
        }),
        None => Ok(()),
    }
}

/// Reads one block (its lines, and the 1-based number of its first line): a cue, or `None` for
/// a `NOTE`, `STYLE` or `REGION` block.
fn read_block(block: &[&str], first_line: usize) -> Result<Option<Cue>, CaptionError> {
    let head = block[0];
    if ["NOTE", "STYLE", "REGION"].iter().any(|keyword| {
        head.strip_prefix(keyword)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    }) {
        if let Some(offset) = block.iter().position(|line| line.contains("-->")) {
            return Err(CaptionError::UnexpectedArrow {
                line: first_line + offset,
            });
        }
        return Ok(None);
    }

    let timing_at = if head.contains("-->") {
        0
    } else if block.len() > 1 && block[1].contains("-->") {
        1
    } else {
        // A timing line without its arrow reads as a stray block: name the line that looks
        // like one, so the author sees what is wrong.
        let missing_arrow = block.iter().take(2).position(|line| looks_like_time(line));
        return Err(match missing_arrow {
            Some(offset) => CaptionError::MalformedTiming {
                line: first_line + offset,
                reason: "no `-->` between the start and end times",
            },
            None => CaptionError::NotACue { line: first_line },
        });
    };
    let line = first_line + timing_at;
    let (start_ms, end_ms, settings) = parse_timing(block[timing_at])
        .map_err(|reason| CaptionError::MalformedTiming { line, reason })?;

    let payload = &block[timing_at + 1..];
    if let Some(offset) = payload.iter().position(|l| l.contains("-->")) {
        return Err(CaptionError::UnexpectedArrow {
            line: line + 1 + offset,
        });
    }
    let raw_text = payload.join("\n");
    let text = plain_text(&raw_text);
    if text.is_empty() {
        return Err(CaptionError::EmptyPayload { line });
    }
    if end_ms <= start_ms {
        return Err(CaptionError::EndNotAfterStart {
            line,
            start_ms,
            end_ms,
        });
    }
    Ok(Some(Cue {
        line,
        identifier: (timing_at == 1).then(|| head.to_owned()),
        start_ms,
        end_ms,
        settings: settings.to_owned(),
        text,
        raw_text,
    }))
}

/// Whether a line starts like a timestamp (a digit, with a `:` in it).
fn looks_like_time(line: &str) -> bool {
    line.starts_with(|c: char| c.is_ascii_digit()) && line.contains(':')
}

/// Reads a timing line into its start and end (milliseconds) and its settings.
fn parse_timing(line: &str) -> Result<(u64, u64, &str), &'static str> {
    let (left, right) = line
        .split_once("-->")
        .ok_or("no `-->` between the start and end times")?;
    if !left.ends_with([' ', '\t']) || !right.starts_with([' ', '\t']) {
        return Err("`-->` needs a space or tab on each side");
    }
    let start = parse_time(left.trim_matches([' ', '\t']))?;
    let right = right.trim_start_matches([' ', '\t']);
    let (end, settings) = match right.find([' ', '\t']) {
        Some(at) => (&right[..at], right[at..].trim_matches([' ', '\t'])),
        None => (right, ""),
    };
    let end = parse_time(end)?;
    if settings.contains("-->") {
        return Err("more than one `-->`");
    }
    let setting_ok = |s: &str| {
        s.split_once(':')
            .is_some_and(|(name, value)| !name.is_empty() && !value.is_empty())
    };
    if !settings
        .split([' ', '\t'])
        .filter(|s| !s.is_empty())
        .all(setting_ok)
    {
        return Err("cue settings after the end time must each be `name:value`");
    }
    Ok((start, end, settings))
}

/// Reads a timestamp `[hh:]mm:ss.ttt` into milliseconds.
fn parse_time(time: &str) -> Result<u64, &'static str> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = time.split(':').collect();
    let (hours, minutes, rest) = match parts.as_slice() {
        [m, s] => ("0", *m, *s),
        [h, m, s] => {
            if !digits(h) || h.len() < 2 {
                return Err("hours, when given, must be two or more digits");
            }
            (*h, *m, *s)
        }
        _ => return Err("a time must be `[hh:]mm:ss.ttt`"),
    };
    if !digits(minutes) || minutes.len() != 2 {
        return Err("minutes must be two digits");
    }
    let (seconds, millis) = rest
        .split_once('.')
        .ok_or("seconds must be followed by `.` and three digits of milliseconds")?;
    if !digits(seconds) || seconds.len() != 2 {
        return Err("seconds must be two digits");
    }
    if !digits(millis) || millis.len() != 3 {
        return Err("milliseconds must be exactly three digits");
    }
    let number = |s: &str| s.parse::<u64>().map_err(|_| "the time is too large");
    let (minutes, seconds, millis) = (number(minutes)?, number(seconds)?, number(millis)?);
    if minutes >= 60 {
        return Err("minutes must be below 60");
    }
    if seconds >= 60 {
        return Err("seconds must be below 60");
    }
    number(hours)?
        .checked_mul(3_600_000)
        .and_then(|ms| ms.checked_add(minutes * 60_000 + seconds * 1_000 + millis))
        .ok_or("the time is too large")
}

/// Splits text into lines at CRLF, LF or CR.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['\r', '\n']) {
        lines.push(&rest[..at]);
        let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[at + skip..];
    }
    // Text after the last line break is a line; an empty remainder is just the final break.
    if !rest.is_empty() {
        lines.push(rest);
    }
    lines
}

/// The 1-based number of the line at the end of `bytes` (counted as [`split_lines`] does).
fn count_lines(bytes: &[u8]) -> usize {
    let mut line = 1;
    let mut previous = 0u8;
    for &b in bytes {
        if b == b'\n' && previous == b'\r' {
            // The second half of a CRLF: already counted.
        } else if b == b'\n' || b == b'\r' {
            line += 1;
        }
        previous = b;
    }
    line
}

/// A cue payload's text without tags, ruby annotations or character references (see
/// [`Cue::text`]).
fn plain_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_annotation = 0usize;
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                // A tag runs to `>`, or to the end of the text when unclosed.
                let end = rest.find('>').map_or(rest.len(), |at| at + 1);
                let inner = rest[1..end].trim_end_matches('>');
                let (closing, inner) = match inner.strip_prefix('/') {
                    Some(name) => (true, name),
                    None => (false, inner),
                };
                let name = inner.split(['.', ' ', '\t', '\n']).next().unwrap_or("");
                if name.eq_ignore_ascii_case("rt") {
                    in_annotation = if closing {
                        in_annotation.saturating_sub(1)
                    } else {
                        in_annotation + 1
                    };
                }
                rest = &rest[end..];
            }
            '&' => {
                let (decoded, used) = character_reference(rest);
                if in_annotation == 0 {
                    out.push(decoded);
                }
                rest = &rest[used..];
            }
            _ => {
                if in_annotation == 0 {
                    out.push(c);
                }
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes the character reference at the start of `text` (which starts with `&`): the
/// character and how many bytes it used. An unknown reference is a literal `&`.
fn character_reference(text: &str) -> (char, usize) {
    const NAMED: [(&str, char); 6] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&nbsp;", '\u{a0}'),
        ("&lrm;", '\u{200e}'),
        ("&rlm;", '\u{200f}'),
    ];
    if let Some((name, c)) = NAMED.iter().find(|(name, _)| text.starts_with(name)) {
        return (*c, name.len());
    }
    let numeric = text.strip_prefix("&#").and_then(|rest| {
        // Looked for among the next few bytes only: a payload of many `&#` without `;` must
        // not be scanned to its end for each of them.
        let end = rest
            .bytes()
            .take(9)
            .position(|b| b == b';')
            .filter(|&at| at > 0)?;
        let body = &rest[..end];
        let code = match body.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => body.parse::<u32>().ok()?,
        };
        Some((char::from_u32(code)?, 2 + end + 1))
    });
    numeric.unwrap_or(('&', 1))
}

/// A stretch of captions for the search index: the text of consecutive cues and when it is
/// said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchSegment {
    /// The first cue's start, in milliseconds: where a search hit seeks to.
    pub start_ms: u64,
    /// The last cue's end, in milliseconds.
    pub end_ms: u64,
    /// The cues' [`Cue::text`], joined with spaces.
    pub text: String,
}

/// Merges short cues into segments for the search index, so a learner finds the moment a word
/// is said without the index holding one document per two-second cue.
///
/// Cues are taken in order; a cue joins the current segment when the silence before it is at
/// most [`SEGMENT_MAX_GAP_MS`], the segment would still span at most [`SEGMENT_MAX_MS`], and
/// its text would stay within [`SEGMENT_MAX_BYTES`]; otherwise it starts a new segment. A
/// single cue longer than these limits is a segment by itself.
pub fn search_segments(captions: &Captions) -> Vec<SearchSegment> {
    let mut segments: Vec<SearchSegment> = Vec::new();
    let mut current: Option<SearchSegment> = None;
    for cue in &captions.cues {
        if let Some(segment) = current.as_mut() {
            let fits = cue.start_ms.saturating_sub(segment.end_ms) <= SEGMENT_MAX_GAP_MS
                && cue.end_ms.saturating_sub(segment.start_ms) <= SEGMENT_MAX_MS
                && segment.text.len() + 1 + cue.text.len() <= SEGMENT_MAX_BYTES;
            if fits {
                segment.end_ms = segment.end_ms.max(cue.end_ms);
                segment.text.push(' ');
                segment.text.push_str(&cue.text);
                continue;
            }
            segments.extend(current.take());
        }
        current = Some(SearchSegment {
            start_ms: cue.start_ms,
            end_ms: cue.end_ms,
            text: cue.text.clone(),
        });
    }
    segments.extend(current);
    segments
}

/// Why a caption language tag is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LanguageError {
    /// The tag is empty.
    #[error("the language tag is empty")]
    Empty,

    /// The tag is longer than [`MAX_LANGUAGE_CHARS`].
    #[error("the language tag is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The tag is not shaped like a BCP 47 language tag.
    #[error("`{tag}` is not a BCP 47 language tag (such as en, en-US, pt-BR, zh-Hans): {reason}")]
    Malformed {
        /// The tag as given (at most [`MAX_LANGUAGE_CHARS`] characters).
        tag: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Checks that `tag` has the shape of a BCP 47 language tag (RFC 5646 §2.1: language, up to
/// three extended languages, script, region, variants, extensions, private use) and returns it
/// in the RFC's canonical case (`EN-us` → `en-US`, `zh-hans` → `zh-Hans`).
///
/// The shape only: subtags are not looked up in IANA's registry, so `qq-ZZ` passes. The
/// grandfathered tags (`i-klingon` …) and tags that are only private use (`x-foo`) are refused:
/// captions need a language.
///
/// # Errors
/// [`LanguageError`] saying what is wrong.
pub fn language_tag(tag: &str) -> Result<String, LanguageError> {
    if tag.is_empty() {
        return Err(LanguageError::Empty);
    }
    let len = tag.chars().count();
    if len > MAX_LANGUAGE_CHARS {
        return Err(LanguageError::TooLong {
            len,
            max: MAX_LANGUAGE_CHARS,
        });
    }
    let malformed = |reason| LanguageError::Malformed {
        tag: tag.to_owned(),
        reason,
    };
    let alpha = |s: &str| s.bytes().all(|b| b.is_ascii_alphabetic());
    let digit = |s: &str| s.bytes().all(|b| b.is_ascii_digit());

    #[derive(PartialEq, PartialOrd)]
    enum Stage {
        ExtLang,
        Script,
        Region,
        Variant,
        Extension,
    }

    let subtags: Vec<&str> = tag.split('-').collect();
    if subtags
        .iter()
        .any(|s| s.is_empty() || s.len() > 8 || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(malformed(
            "subtags are 1 to 8 ASCII letters or digits, separated by `-`",
        ));
    }
    let language = subtags[0];
    if !alpha(language) || !matches!(language.len(), 2 | 3 | 5..=8) {
        return Err(malformed(
            "the language subtag must be 2, 3 or 5 to 8 letters",
        ));
    }
    let mut canonical = vec![language.to_ascii_lowercase()];
    let mut stage = if language.len() <= 3 {
        Stage::ExtLang
    } else {
        Stage::Script
    };
    let mut extlangs = 0;
    let mut variants: Vec<String> = Vec::new();
    let mut singletons: Vec<u8> = Vec::new();
    let mut i = 1;
    while i < subtags.len() {
        let s = subtags[i];
        if s.len() == 1 {
            // An extension (`u-…`, `t-…`) or private use (`x-…`): a singleton and one or more
            // subtags; everything after `x` is private use.
            let singleton = s.as_bytes()[0].to_ascii_lowercase();
            let mut j = i + 1;
            while j < subtags.len() && (singleton == b'x' || subtags[j].len() > 1) {
                j += 1;
            }
            if j == i + 1 {
                return Err(malformed("a singleton must be followed by a subtag"));
            }
            if singletons.contains(&singleton) {
                return Err(malformed("an extension appears twice"));
            }
            singletons.push(singleton);
            canonical.extend(subtags[i..j].iter().map(|s| s.to_ascii_lowercase()));
            stage = Stage::Extension;
            i = j;
            continue;
        }
        if stage == Stage::Extension {
            return Err(malformed("only extensions may follow an extension"));
        }
        if stage == Stage::ExtLang && s.len() == 3 && alpha(s) && extlangs < 3 {
            extlangs += 1;
            canonical.push(s.to_ascii_lowercase());
        } else if stage <= Stage::Script && s.len() == 4 && alpha(s) {
            let mut script = s.to_ascii_lowercase();
            script[..1].make_ascii_uppercase();
            canonical.push(script);
            stage = Stage::Region;
        } else if stage <= Stage::Region
            && ((s.len() == 2 && alpha(s)) || (s.len() == 3 && digit(s)))
        {
            canonical.push(s.to_ascii_uppercase());
            stage = Stage::Variant;
        } else if (5..=8).contains(&s.len()) || (s.len() == 4 && s.as_bytes()[0].is_ascii_digit()) {
            let variant = s.to_ascii_lowercase();
            if variants.contains(&variant) {
                return Err(malformed("a variant appears twice"));
            }
            variants.push(variant.clone());
            canonical.push(variant);
            stage = Stage::Variant;
        } else {
            return Err(malformed(
                "expected a script (4 letters), a region (2 letters or 3 digits) or a variant, in that order",
            ));
        }
        i += 1;
    }
    Ok(canonical.join("-"))
}
