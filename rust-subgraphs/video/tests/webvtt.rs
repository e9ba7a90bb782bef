//! WebVTT captions: parsing, each refusal with its line, the video's end, search segments and
//! language tags.

use coursegraph_video::webvtt::{
    language_tag, parse, search_segments, validate, CaptionError, Captions, LanguageError,
    MAX_CUES, MAX_FILE_BYTES, SEGMENT_MAX_GAP_MS, SEGMENT_MAX_MS,
};

/// A file with what the spec allows: header text and a header line, NOTE and STYLE blocks,
/// identifiers, settings, hours given and omitted, multi-line cues, tags and references.
const LECTURE: &str = "WEBVTT - Lecture 1
Kind: captions

NOTE written by the instructor,
on two lines

STYLE
::cue { color: yellow }

intro
00:00:01.000 --> 00:00:03.500 align:start line:0
<v Ana>Hello, <i>everyone</i>!</v>

00:03.500 --> 00:05.250
Today: pods &amp; services
<c.yellow>on two lines</c>

NOTE a note between cues

00:00:06.000 --> 00:00:08.000
<ruby>漢<rt>kan</rt></ruby> <00:00:07.000><b>karaoke</b> &lt;tag&gt;
";

fn err(text: &str) -> CaptionError {
    parse(text.as_bytes()).expect_err(&format!("should be refused:\n{text}"))
}

#[test]
fn parses_identifiers_settings_notes_and_multi_line_cues() {
    let captions = parse(LECTURE.as_bytes()).unwrap();
    assert_eq!(captions.cues.len(), 3);

    let intro = &captions.cues[0];
    assert_eq!(intro.line, 11);
    assert_eq!(intro.identifier.as_deref(), Some("intro"));
    assert_eq!((intro.start_ms, intro.end_ms), (1_000, 3_500));
    assert_eq!(intro.settings, "align:start line:0");
    assert_eq!(intro.text, "Hello, everyone!");
    assert_eq!(intro.raw_text, "<v Ana>Hello, <i>everyone</i>!</v>");

    let second = &captions.cues[1];
    assert_eq!(second.line, 14);
    assert_eq!(second.identifier, None);
    assert_eq!((second.start_ms, second.end_ms), (3_500, 5_250));
    assert_eq!(second.settings, "");
    assert_eq!(second.text, "Today: pods & services on two lines");
    assert_eq!(
        second.raw_text,
        "Today: pods &amp; services\n<c.yellow>on two lines</c>"
    );

    // Ruby annotations and timestamp tags are left out of the searchable text.
    let third = &captions.cues[2];
    assert_eq!(third.line, 20);
    assert_eq!((third.start_ms, third.end_ms), (6_000, 8_000));
    assert_eq!(third.text, "漢 karaoke <tag>");
}

#[test]
fn character_references_are_decoded_and_unknown_ones_kept() {
    let file = "WEBVTT\n\n00:00.000 --> 00:01.000\ncaf&#233; caf&#xE9; &#; &#99999999; &copy; a&b &#x1F600;\n";
    let captions = parse(file.as_bytes()).unwrap();
    assert_eq!(
        captions.cues[0].text,
        "café café &#; &#99999999; &copy; a&b \u{1f600}"
    );
    // Many references without an end read as text, in one pass.
    let many = format!(
        "WEBVTT\n\n00:00.000 --> 00:01.000\n{}\n",
        "&#".repeat(200_000)
    );
    assert_eq!(parse(many.as_bytes()).unwrap().cues[0].text.len(), 400_000);
}

#[test]
fn a_byte_order_mark_and_crlf_or_cr_line_ends_read_the_same() {
    let lf = parse(LECTURE.as_bytes()).unwrap();
    let crlf = format!("\u{feff}{}", LECTURE.replace('\n', "\r\n"));
    assert_eq!(parse(crlf.as_bytes()).unwrap(), lf);
    let cr = LECTURE.replace('\n', "\r");
    assert_eq!(parse(cr.as_bytes()).unwrap(), lf);
    // Line numbers count a CRLF once.
    let broken =
        "WEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\nok\r\n\r\n00:03.000 -> 00:04.000\r\nno\r\n";
    assert_eq!(
        parse(broken.as_bytes()).unwrap_err().line(),
        Some(6),
        "{:?}",
        parse(broken.as_bytes())
    );
}

#[test]
fn hours_may_be_omitted_or_longer_than_two_digits() {
    let short = parse(b"WEBVTT\n\n01:02.003 --> 59:59.999\nx\n").unwrap();
    let long = parse(b"WEBVTT\n\n00:01:02.003 --> 00:59:59.999\nx\n").unwrap();
    assert_eq!(short.cues[0].start_ms, 62_003);
    assert_eq!(short.cues[0].end_ms, 3_599_999);
    assert_eq!(
        (short.cues[0].start_ms, short.cues[0].end_ms),
        (long.cues[0].start_ms, long.cues[0].end_ms)
    );
    let hundred = parse(b"WEBVTT\n\n100:00:00.000 --> 100:00:01.000\nx\n").unwrap();
    assert_eq!(hundred.cues[0].start_ms, 100 * 3_600_000);
}

#[test]
fn a_header_may_carry_text_after_a_space_or_tab() {
    for header in ["WEBVTT", "WEBVTT text", "WEBVTT\ttext"] {
        let file = format!("{header}\n\n00:00.000 --> 00:01.000\nx\n");
        assert!(parse(file.as_bytes()).is_ok(), "{header:?}");
    }
}

#[test]
fn each_refusal_names_its_line() {
    let cases: Vec<(&str, CaptionError)> = vec![
        ("", CaptionError::MissingHeader { line: 1 }),
        ("WEBVTT2\n\n00:00.000 --> 00:01.000\nx\n", CaptionError::MissingHeader { line: 1 }),
        ("webvtt\n\n00:00.000 --> 00:01.000\nx\n", CaptionError::MissingHeader { line: 1 }),
        (
            "1\n00:00:00,000 --> 00:00:01,000\nan SRT file\n",
            CaptionError::MissingHeader { line: 1 },
        ),
        (
            "WEBVTT\n00:00.000 --> 00:01.000\nx\n",
            CaptionError::CueInHeader { line: 2 },
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000\nok\n\n00:00:01,000 --> 00:00:02,000\nSRT comma\n",
            CaptionError::MalformedTiming {
                line: 6,
                reason: "seconds must be followed by `.` and three digits of milliseconds",
            },
        ),
        (
            "WEBVTT\n\n00:60:00.000 --> 01:00:00.000\nx\n",
            CaptionError::MalformedTiming { line: 3, reason: "minutes must be below 60" },
        ),
        (
            "WEBVTT\n\n00:00:59.000 --> 00:00:60.000\nx\n",
            CaptionError::MalformedTiming { line: 3, reason: "seconds must be below 60" },
        ),
        (
            "WEBVTT\n\nid\n00:00.00 --> 00:01.000\nx\n",
            CaptionError::MalformedTiming {
                line: 4,
                reason: "milliseconds must be exactly three digits",
            },
        ),
        (
            "WEBVTT\n\n0:00:00.000 --> 0:00:01.000\nx\n",
            CaptionError::MalformedTiming {
                line: 3,
                reason: "hours, when given, must be two or more digits",
            },
        ),
        (
            "WEBVTT\n\n00:00.000-->00:01.000\nx\n",
            CaptionError::MalformedTiming {
                line: 3,
                reason: "`-->` needs a space or tab on each side",
            },
        ),
        (
            "WEBVTT\n\nid\n00:00.000 - 00:01.000\nx\n",
            CaptionError::MalformedTiming {
                line: 4,
                reason: "no `-->` between the start and end times",
            },
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000 center\nx\n",
            CaptionError::MalformedTiming {
                line: 3,
                reason: "cue settings after the end time must each be `name:value`",
            },
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000 --> 00:02.000\nx\n",
            CaptionError::MalformedTiming { line: 3, reason: "more than one `-->`" },
        ),
        (
            "WEBVTT\n\n00:02.000 --> 00:02.000\nx\n",
            CaptionError::EndNotAfterStart { line: 3, start_ms: 2_000, end_ms: 2_000 },
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000\nok\n\n00:02.000 --> 00:01.500\nx\n",
            CaptionError::EndNotAfterStart { line: 6, start_ms: 2_000, end_ms: 1_500 },
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:02.000\nok\n\nNOTE x\n\nsecond\n00:01.999 --> 00:03.000\nx\n",
            CaptionError::Overlap {
                line: 9,
                start_ms: 1_999,
                previous_line: 3,
                previous_end_ms: 2_000,
            },
        ),
        (
            "WEBVTT\n\n00:05.000 --> 00:06.000\nok\n\n00:01.000 --> 00:02.000\nout of order\n",
            CaptionError::Overlap {
                line: 6,
                start_ms: 1_000,
                previous_line: 3,
                previous_end_ms: 6_000,
            },
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000\n\nx\n",
            CaptionError::EmptyPayload { line: 3 },
        ),
        ("WEBVTT\n\n00:00.000 --> 00:01.000", CaptionError::EmptyPayload { line: 3 }),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000\n<i> </i>\n",
            CaptionError::EmptyPayload { line: 3 },
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000\none\n00:01.000 --> 00:02.000\ntwo\n",
            CaptionError::UnexpectedArrow { line: 5 },
        ),
        (
            "WEBVTT\n\nNOTE a note\n00:01.000 --> 00:02.000\nx\n",
            CaptionError::UnexpectedArrow { line: 4 },
        ),
        (
            "WEBVTT\n\n00:00.000 --> 00:01.000\nok\n\nstray text\nwithout timing\n",
            CaptionError::NotACue { line: 6 },
        ),
        ("WEBVTT\n\nNOTE only a note\n", CaptionError::NoCues { line: 3 }),
        ("WEBVTT", CaptionError::NoCues { line: 1 }),
    ];
    for (text, expected) in cases {
        let error = err(text);
        assert_eq!(error, expected, "for:\n{text}");
        assert_eq!(error.line(), expected.line());
        assert!(
            error
                .to_string()
                .starts_with(&format!("line {}:", expected.line().unwrap())),
            "{error}"
        );
    }
}

#[test]
fn a_file_that_is_not_utf8_names_the_line_of_the_first_bad_byte() {
    let mut bytes = b"WEBVTT\r\n\r\n00:00.000 --> 00:01.000\r\ncaf".to_vec();
    bytes.push(0xe9); // é in Latin-1
    bytes.extend_from_slice(b"\r\n");
    assert_eq!(parse(&bytes), Err(CaptionError::NotUtf8 { line: 4 }));
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let mut bytes = b"WEBVTT\n\n00:00.000 --> 00:01.000\n".to_vec();
    bytes.resize(MAX_FILE_BYTES + 1, b'a');
    assert_eq!(
        parse(&bytes),
        Err(CaptionError::TooLarge {
            bytes: MAX_FILE_BYTES + 1,
            max: MAX_FILE_BYTES
        })
    );
    assert_eq!(parse(&bytes).unwrap_err().line(), None);
}

/// `count` cues of half a second, one per second.
fn many_cues(count: usize) -> String {
    let mut file = String::from("WEBVTT\n");
    for i in 0..count {
        let (s, ms) = (i % 60, 0);
        let minutes = i / 60 % 60;
        let hours = i / 3600;
        file.push_str(&format!(
            "\n{hours:02}:{minutes:02}:{s:02}.{ms:03} --> {hours:02}:{minutes:02}:{s:02}.500\nc{i}\n"
        ));
    }
    file
}

#[test]
fn too_many_cues_names_the_first_cue_over_the_limit() {
    let at_limit = parse(many_cues(MAX_CUES).as_bytes()).unwrap();
    assert_eq!(at_limit.cues.len(), MAX_CUES);
    // Each cue is a blank line, a timing line and a payload line after the header: cue i
    // (0-based) has its timing line at 3 + 3 i.
    assert_eq!(
        parse(many_cues(MAX_CUES + 1).as_bytes()),
        Err(CaptionError::TooManyCues {
            line: 3 + 3 * MAX_CUES,
            max: MAX_CUES
        })
    );
}

#[test]
fn cues_past_the_video_end_are_refused_with_their_line() {
    let captions = parse(LECTURE.as_bytes()).unwrap();
    let last = captions.cues.last().unwrap();
    assert_eq!(validate(&captions, last.end_ms), Ok(()));
    assert_eq!(
        validate(&captions, last.end_ms - 1),
        Err(CaptionError::PastEnd {
            line: last.line,
            end_ms: last.end_ms,
            duration_ms: last.end_ms - 1
        })
    );
    // The first cue past the end is named, not the last.
    assert_eq!(validate(&captions, 4_000).unwrap_err().line(), Some(14));
}

fn cue_file(cues: &[(u64, u64, &str)]) -> Captions {
    let time = |ms: u64| {
        format!(
            "{:02}:{:02}.{:03}",
            ms / 60_000,
            ms / 1_000 % 60,
            ms % 1_000
        )
    };
    let mut file = String::from("WEBVTT\n");
    for (start, end, text) in cues {
        file.push_str(&format!("\n{} --> {}\n{text}\n", time(*start), time(*end)));
    }
    parse(file.as_bytes()).expect("valid cues")
}

#[test]
fn search_segments_merge_short_cues_and_keep_their_times() {
    let captions = cue_file(&[
        (0, 1_500, "Kubernetes"),
        (1_500, 3_000, "runs <i>pods</i>"),
        (3_200, 5_900, "on nodes."),
        // Would make the segment span more than SEGMENT_MAX_MS.
        (6_000, 7_000, "A service"),
        (7_000, 8_000, "routes traffic."),
        // After a silence longer than SEGMENT_MAX_GAP_MS.
        (10_500, 11_000, "Questions?"),
        // One cue longer than SEGMENT_MAX_MS is a segment of its own.
        (11_000, 20_000, "A long explanation"),
    ]);
    // The cues above are placed around the limits: keep them in step.
    const { assert!(5_900 <= SEGMENT_MAX_MS && 7_000 > SEGMENT_MAX_MS) };
    const { assert!(10_500 - 8_000 > SEGMENT_MAX_GAP_MS) };
    let segments = search_segments(&captions);
    let segments: Vec<(u64, u64, &str)> = segments
        .iter()
        .map(|s| (s.start_ms, s.end_ms, s.text.as_str()))
        .collect();
    assert_eq!(
        segments,
        vec![
            (0, 5_900, "Kubernetes runs pods on nodes."),
            (6_000, 8_000, "A service routes traffic."),
            (10_500, 11_000, "Questions?"),
            (11_000, 20_000, "A long explanation"),
        ]
    );
}

#[test]
fn search_segments_cover_every_cue_once() {
    let captions = parse(many_cues(100).as_bytes()).unwrap();
    let segments = search_segments(&captions);
    let words: Vec<String> = segments
        .iter()
        .flat_map(|s| s.text.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let cues: Vec<String> = captions.cues.iter().map(|c| c.text.clone()).collect();
    assert_eq!(words, cues);
    for segment in &segments {
        assert!(segment.end_ms - segment.start_ms <= SEGMENT_MAX_MS);
        let first = captions
            .cues
            .iter()
            .find(|c| c.start_ms == segment.start_ms)
            .expect("a segment starts where a cue starts");
        assert!(segment.text.starts_with(&first.text));
    }
    assert!(segments.len() < captions.cues.len());
}

#[test]
fn language_tags_are_checked_and_put_in_canonical_case() {
    for (given, canonical) in [
        ("en", "en"),
        ("en-US", "en-US"),
        ("EN-us", "en-US"),
        ("pt-BR", "pt-BR"),
        ("zh-hans", "zh-Hans"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("sr-Latn-RS", "sr-Latn-RS"),
        ("zh-yue-HK", "zh-yue-HK"),
        ("de-CH-1996", "de-CH-1996"),
        ("sl-rozaj-biske", "sl-rozaj-biske"),
        ("en-US-u-ca-gregory", "en-US-u-ca-gregory"),
        ("en-x-Lecture", "en-x-lecture"),
        ("fil", "fil"),
    ] {
        assert_eq!(language_tag(given).as_deref(), Ok(canonical), "{given}");
    }
}

#[test]
fn malformed_language_tags_are_refused() {
    assert_eq!(language_tag(""), Err(LanguageError::Empty));
    assert!(matches!(
        language_tag(&"a".repeat(40)),
        Err(LanguageError::TooLong { len: 40, max: 35 })
    ));
    for bad in [
        "e",
        "english!",
        "en_US",
        "en-",
        "-en",
        "en--US",
        "1en",
        "x-private",
        "i-klingon",
        "abcd",
        "en-US-GB",
        "en-Latn-Latn",
        "en-u",
        "en-u-ca-u-nu",
        "de-1996-1996",
        "en-abcdefghi",
        "en-\u{e9}",
    ] {
        let error = language_tag(bad).expect_err(bad);
        assert!(
            matches!(error, LanguageError::Malformed { ref tag, .. } if tag == bad),
            "{bad}: {error:?}"
        );
    }
}
