//! Captions from the video stream: indexed per lesson and language, joined with the course
//! whichever stream comes first, newest change wins, and only for lessons anyone may read.

use coursegraph_events::contracts::course::v1::{CourseSnapshot, Money};
use coursegraph_events::contracts::video::v1::{CaptionSegment, CaptionsChanged};
use coursegraph_events::prost::Message as _;
use coursegraph_events::Subject;
use coursegraph_search::{
    CaptionsApplied, CaptionsEvent, CourseEvent, DocKind, Filter, Hit, SearchError, Source,
};

use crate::fixtures::{course, lesson, Fixture};

/// `video.captions.changed` for `lesson` in `language`, decoded as the consumer decodes it.
fn captions(
    lesson: &str,
    language: &str,
    changed_at: &str,
    cues: &[(i64, i64, &str)],
) -> CaptionsEvent {
    let payload = CaptionsChanged {
        video_id: "v1".into(),
        lesson_id: lesson.into(),
        course_id: "c1".into(),
        languages: vec![language.into()],
        language: language.into(),
        segments: cues
            .iter()
            .map(|&(start_ms, end_ms, text)| CaptionSegment {
                start_ms,
                end_ms,
                text: text.into(),
            })
            .collect(),
        changed_at: changed_at.into(),
    }
    .encode_to_vec();
    let subject = Subject::parse("video.captions.changed").expect("a subject");
    CaptionsEvent::decode(&subject, &payload)
        .expect("a valid event")
        .expect("an event search reacts to")
}

const T1: &str = "2026-12-07T10:00:00Z";
const T2: &str = "2026-12-07T11:00:00Z";

/// A free English course `c1` with a video lesson `l1`.
fn free_course(version: i32) -> CourseSnapshot {
    let mut snapshot = course("c1", "Networking basics");
    snapshot.version = version;
    snapshot.lessons = vec![lesson("l1", "Routing tables", "")];
    snapshot
}

/// `c1` at 49 EUR, with `l1` a free preview or not.
fn paid_course(version: i32, free_preview: bool) -> CourseSnapshot {
    let mut snapshot = free_course(version);
    snapshot.price = Some(Money {
        amount_minor: 4_900,
        currency: "EUR".into(),
    });
    snapshot.lessons[0].free_preview = free_preview;
    snapshot
}

impl Fixture {
    fn captions(&mut self, event: &CaptionsEvent) -> CaptionsApplied {
        self.sequence += 1;
        self.indexer
            .apply_captions(self.sequence, event)
            .expect("applied")
    }

    /// The caption hits of `query`, as `lesson@start-end:language`.
    fn moments(&self, query: &str) -> Vec<String> {
        self.search(query)
            .hits
            .iter()
            .filter(|hit| hit.kind == DocKind::Caption)
            .map(moment)
            .collect()
    }
}

fn moment(hit: &Hit) -> String {
    let caption = hit.caption.as_ref().expect("a caption hit has its moment");
    format!(
        "{}@{}-{}:{}",
        hit.id, caption.start_ms, caption.end_ms, caption.language
    )
}

#[test]
fn a_word_said_in_a_lesson_is_found_with_the_lesson_and_the_time() {
    let mut fx = Fixture::with([free_course(1)]);
    let applied = fx.captions(&captions(
        "l1",
        "en",
        T1,
        &[
            (0, 2_500, "Welcome back."),
            (2_500, 6_000, "Each router keeps a table of networks."),
            (6_000, 9_000, "Packets are forwarded hop by hop."),
        ],
    ));
    assert_eq!(applied, CaptionsApplied::Indexed { segments: 3 });
    fx.commit();

    // Stemmed by the caption's language: "forwarding" finds "forwarded".
    let page = fx.search("forwarding");
    assert_eq!(page.total_count, 1);
    let hit = &page.hits[0];
    assert_eq!(
        (hit.kind, hit.id.as_str(), hit.course_id.as_str()),
        (DocKind::Caption, "l1", "c1")
    );
    assert_eq!(moment(hit), "l1@6000-9000:en");
    // Titled by the lesson; the snippet is the words said (the course is free).
    assert_eq!(hit.snippet.title, "Routing tables");
    assert_eq!(
        hit.snippet.text.as_deref(),
        Some("Packets are <b>forwarded</b> hop by hop")
    );
    // The lesson's title does not make its captions match: one lesson hit, no caption hit.
    assert_eq!(fx.hits("routing"), vec!["lesson:l1"]);
    // Filters and facets apply as to lessons.
    let paid_only = Filter {
        is_free: Some(false),
        ..Default::default()
    };
    assert_eq!(fx.search_with("router", paid_only).total_count, 0);
    let page = fx.search("router");
    assert_eq!(page.facets.price[0].value, "free");
    assert_eq!(page.facets.category[0].value, "programming");
    assert_eq!(fx.index.stats().unwrap().caption_segments, 3);
    assert_eq!(fx.index.last_sequence_of(Source::Captions).unwrap(), 2);
}

#[test]
fn captions_that_come_before_their_course_are_kept_and_joined_when_it_is_published() {
    let mut fx = Fixture::new();
    let applied = fx.captions(&captions("l1", "en", T1, &[(1_000, 2_000, "Subnet masks")]));
    // Nothing to join yet: kept, not searchable.
    assert_eq!(applied, CaptionsApplied::Indexed { segments: 0 });
    fx.commit();
    assert!(fx.moments("subnet").is_empty());
    assert_eq!(fx.index.stats().unwrap().caption_records, 1);

    // The course arrives in the same batch as a second language: both are joined.
    fx.apply(CourseEvent::Published(free_course(1)));
    fx.captions(&captions(
        "l1",
        "ru",
        T1,
        &[(1_000, 2_000, "Маски подсетей")],
    ));
    fx.commit();
    assert_eq!(fx.moments("subnet"), vec!["l1@1000-2000:en"]);
    // Russian captions stem as Russian, though the course is English.
    assert_eq!(fx.moments("маска"), vec!["l1@1000-2000:ru"]);
}

#[test]
fn the_newest_change_of_a_language_wins_and_an_empty_one_removes_it() {
    let mut fx = Fixture::with([free_course(1)]);
    fx.captions(&captions("l1", "en", T2, &[(0, 1_000, "Static routes")]));
    fx.commit();
    // Older than what the index holds (another video of the lesson, or a late redelivery).
    let older = captions("l1", "en", T1, &[(0, 1_000, "Dynamic routes")]);
    assert_eq!(fx.captions(&older), CaptionsApplied::Ignored);
    fx.commit();
    assert_eq!(fx.moments("static"), vec!["l1@0-1000:en"]);
    assert!(fx.moments("dynamic").is_empty());

    // A newer change replaces every segment of that language, not the others.
    fx.captions(&captions("l1", "de", T2, &[(0, 1_000, "Statische Routen")]));
    let newer = captions(
        "l1",
        "en",
        "2026-12-07T12:00:00Z",
        &[(500, 1_500, "Default gateway")],
    );
    assert_eq!(
        fx.captions(&newer),
        CaptionsApplied::Indexed { segments: 1 }
    );
    fx.commit();
    assert!(fx.moments("static").is_empty());
    assert_eq!(fx.moments("gateway"), vec!["l1@500-1500:en"]);
    assert_eq!(fx.moments("statische"), vec!["l1@0-1000:de"]);

    // Removed: its segments go; the record stays, so the older event cannot bring them back.
    let removed = captions("l1", "en", "2026-12-07T13:00:00Z", &[]);
    assert_eq!(fx.captions(&removed), CaptionsApplied::Removed);
    fx.commit();
    assert!(fx.moments("gateway").is_empty());
    assert_eq!(fx.captions(&newer), CaptionsApplied::Ignored);
    fx.commit();
    assert!(fx.moments("gateway").is_empty());
    assert_eq!(fx.moments("statische"), vec!["l1@0-1000:de"]);
}

#[test]
fn an_archived_course_takes_its_captions_with_it_and_a_new_version_brings_them_back() {
    let mut fx = Fixture::with([free_course(1)]);
    fx.captions(&captions("l1", "en", T1, &[(0, 1_000, "Spanning tree")]));
    fx.commit();
    fx.apply(CourseEvent::Archived {
        course_id: "c1".into(),
    });
    fx.commit();
    assert!(fx.moments("spanning").is_empty());

    fx.apply(CourseEvent::Updated(free_course(2)));
    fx.commit();
    assert_eq!(fx.moments("spanning"), vec!["l1@0-1000:en"]);
    // A lesson removed from the course takes its captions out of the results too.
    let mut without = free_course(3);
    without.lessons.clear();
    fx.apply(CourseEvent::Updated(without));
    fx.commit();
    assert!(fx.moments("spanning").is_empty());
}

#[test]
fn the_words_said_in_a_paid_lesson_are_never_searchable() {
    const SECRET: &str = "Quarterly coupon formula";
    let mut fx = Fixture::with([paid_course(1, false)]);
    assert_eq!(
        fx.captions(&captions("l1", "en", T1, &[(0, 1_000, SECRET)])),
        CaptionsApplied::Indexed { segments: 0 }
    );
    fx.commit();
    // As for a paid lesson's body: no hit, no snippet, nothing counted.
    assert_eq!(fx.search("coupon").total_count, 0);

    // Made a free preview: anyone may watch it, so its words are found and quoted.
    fx.apply(CourseEvent::Updated(paid_course(2, true)));
    fx.commit();
    let page = fx.search("coupon");
    assert_eq!(page.hits.len(), 1);
    assert_eq!(
        page.hits[0].snippet.text.as_deref(),
        Some("Quarterly <b>coupon</b> formula")
    );

    // Paid again: gone again, whichever stream changes next.
    fx.apply(CourseEvent::Updated(paid_course(3, false)));
    fx.commit();
    assert_eq!(fx.search("coupon").total_count, 0);
    fx.captions(&captions("l1", "en", T2, &[(0, 1_000, SECRET)]));
    fx.commit();
    assert_eq!(fx.search("coupon").total_count, 0);
}

#[test]
fn resetting_one_stream_keeps_what_the_other_built() {
    let mut fx = Fixture::with([free_course(1)]);
    fx.captions(&captions(
        "l1",
        "en",
        T1,
        &[(0, 1_000, "Loopback interface")],
    ));
    fx.commit();

    // The course stream applied again (recreated): caption records stay, and the course
    // applied again builds its segments from them.
    fx.indexer.reset_of(Source::Course).expect("reset");
    assert!(fx.moments("loopback").is_empty());
    assert_eq!(fx.index.stats().unwrap().caption_records, 1);
    assert_eq!(fx.index.last_sequence_of(Source::Captions).unwrap(), 2);
    fx.apply(CourseEvent::Published(free_course(1)));
    fx.commit();
    assert_eq!(fx.moments("loopback"), vec!["l1@0-1000:en"]);

    // The video stream applied again: the courses stay, captions start over.
    fx.indexer.reset_of(Source::Captions).expect("reset");
    assert_eq!(fx.index.last_sequence_of(Source::Captions).unwrap(), 0);
    assert!(fx.moments("loopback").is_empty());
    assert_eq!(fx.hits("routing"), vec!["lesson:l1"]);
}

#[test]
fn invalid_caption_events_are_refused_with_the_reason() {
    let decode = |event: CaptionsChanged| {
        let subject = Subject::parse("video.captions.changed").expect("a subject");
        CaptionsEvent::decode(&subject, &event.encode_to_vec())
    };
    let valid = CaptionsChanged {
        lesson_id: "l1".into(),
        language: "EN-gb".into(),
        changed_at: T1.into(),
        segments: vec![CaptionSegment {
            start_ms: 0,
            end_ms: 10,
            text: "  ".into(),
        }],
        ..Default::default()
    };
    // Tags are compared lowercased; segments without words are dropped.
    let event = decode(valid.clone()).unwrap().unwrap();
    assert_eq!(
        (event.language.as_str(), event.segments.len()),
        ("en-gb", 0)
    );

    let segment = |start_ms, end_ms| CaptionSegment {
        start_ms,
        end_ms,
        text: "x".into(),
    };
    let cases = [
        (
            CaptionsChanged {
                lesson_id: " ".into(),
                ..valid.clone()
            },
            "the lesson id is empty",
        ),
        (
            CaptionsChanged {
                language: String::new(),
                ..valid.clone()
            },
            "is not a language tag",
        ),
        (
            CaptionsChanged {
                changed_at: "yesterday".into(),
                ..valid.clone()
            },
            "is not an RFC 3339 time",
        ),
        (
            CaptionsChanged {
                segments: vec![segment(5, 4)],
                ..valid.clone()
            },
            "segment 0 ends (4 ms) before it starts (5 ms)",
        ),
        (
            CaptionsChanged {
                segments: vec![segment(0, 1), segment(-1, 1)],
                ..valid.clone()
            },
            "segment 1 has a negative time",
        ),
    ];
    for (event, reason) in cases {
        match decode(event) {
            Err(SearchError::InvalidEvent { reason: r, .. }) => assert!(r.contains(reason), "{r}"),
            other => panic!("{reason}: {other:?}"),
        }
    }
    // The video stream's other events are not for search.
    let ready = Subject::parse("video.video.ready").expect("a subject");
    assert_eq!(CaptionsEvent::decode(&ready, &[]).unwrap(), None);
}
