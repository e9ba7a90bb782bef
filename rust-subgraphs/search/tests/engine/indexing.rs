//! Course events in, documents out: versions, archival, the stream position.

use coursegraph_events::contracts::course::v1::{
    CourseArchived, CoursePublished, CourseSnapshot, CourseUpdated, LessonChanged,
};
use coursegraph_events::prost::Message;
use coursegraph_events::{EventError, Subject};
use coursegraph_search::{
    Applied, CourseEvent, CourseState, IndexStats, SearchError, SearchIndex, StreamIdentity,
    INDEX_FORMAT,
};

use crate::fixtures::{course, lesson, Fixture};

/// Course `c1`, about Kubernetes, at `version`, with `(id, title, body)` lessons.
fn k8s(version: i32, lessons: &[(&str, &str, &str)]) -> CourseSnapshot {
    let mut snapshot = course("c1", "Kubernetes in practice");
    snapshot.version = version;
    snapshot.lessons = lessons
        .iter()
        .map(|(id, title, body)| lesson(id, title, body))
        .collect();
    snapshot
}

#[test]
fn published_course_and_its_lessons_become_findable_on_commit() {
    let mut fx = Fixture::new();
    let applied = fx.apply(CourseEvent::Published(k8s(
        1,
        &[
            ("l1", "Pods", "A pod wraps containers."),
            ("l2", "Services", "Expose pods with a stable address."),
        ],
    )));
    assert_eq!(
        applied,
        Applied::Indexed {
            course_id: "c1".into(),
            version: 1,
            lessons: 2
        }
    );
    // Not visible before the commit.
    assert!(fx.hits("kubernetes").is_empty());
    fx.commit();

    assert_eq!(fx.hits("kubernetes"), ["course:c1"]);
    assert_eq!(fx.hits("containers"), ["lesson:l1"]);
    let page = fx.search("stable address");
    assert_eq!(page.hits.len(), 1);
    assert_eq!(page.hits[0].id, "l2");
    assert_eq!(page.hits[0].course_id, "c1");
    assert_eq!(
        fx.index.stats().unwrap(),
        IndexStats {
            courses: 1,
            lessons: 2,
            known_courses: 1,
            caption_segments: 0,
            caption_records: 0,
        }
    );
}

#[test]
fn a_newer_version_replaces_every_document_of_the_course() {
    let mut fx = Fixture::with([k8s(1, &[("l1", "Pods", "Legacy replication controllers.")])]);
    assert_eq!(fx.hits("replication"), ["lesson:l1"]);

    let mut v2 = k8s(2, &[("l2", "Deployments", "Rolling updates.")]);
    v2.title = "Kubernetes for operators".into();
    let applied = fx.apply(CourseEvent::Updated(v2));
    assert!(matches!(
        applied,
        Applied::Indexed {
            version: 2,
            lessons: 1,
            ..
        }
    ));
    fx.commit();

    assert!(fx.hits("replication").is_empty(), "the old lesson is gone");
    assert_eq!(fx.hits("rolling"), ["lesson:l2"]);
    assert_eq!(fx.hits("operators"), ["course:c1"]);
    assert!(fx.hits("practice").is_empty(), "the old title is gone");
    assert_eq!(fx.index.stats().unwrap().lessons, 1);
    assert_eq!(
        fx.index.course_state("c1").unwrap(),
        Some(CourseState {
            version: 2,
            archived: false
        })
    );
}

#[test]
fn an_older_or_repeated_version_is_ignored_committed_or_not() {
    let mut fx = Fixture::new();
    fx.apply(CourseEvent::Published(k8s(3, &[("l3", "Helm", "Charts.")])));
    // Same batch, not committed yet: the pending state decides.
    let stale = fx.apply(CourseEvent::Updated(k8s(2, &[("l2", "Old", "Outdated.")])));
    let current = CourseState {
        version: 3,
        archived: false,
    };
    assert_eq!(
        stale,
        Applied::Ignored {
            course_id: "c1".into(),
            current
        }
    );
    fx.commit();
    // After the commit: the state record in the index decides (a redelivery, a replay).
    for version in [1, 3] {
        let applied = fx.apply(CourseEvent::Updated(k8s(
            version,
            &[("lx", "Old", "Outdated.")],
        )));
        assert_eq!(
            applied,
            Applied::Ignored {
                course_id: "c1".into(),
                current
            }
        );
    }
    fx.commit();
    assert!(fx.hits("outdated").is_empty());
    assert_eq!(fx.hits("charts"), ["lesson:l3"]);
}

#[test]
fn archival_removes_everything_and_only_a_newer_version_brings_it_back() {
    let mut fx = Fixture::with([
        k8s(2, &[("l1", "Pods", "Containers.")]),
        course("c2", "Docker basics"),
    ]);
    let archived = fx.apply(CourseEvent::Archived {
        course_id: "c1".into(),
    });
    assert_eq!(
        archived,
        Applied::Archived {
            course_id: "c1".into()
        }
    );
    fx.commit();
    assert!(fx.hits("kubernetes").is_empty());
    assert!(fx.hits("containers").is_empty());
    assert_eq!(fx.hits("docker"), ["course:c2"], "other courses stay");
    assert_eq!(
        fx.index.course_state("c1").unwrap(),
        Some(CourseState {
            version: 2,
            archived: true
        })
    );

    // Archiving again, or a late publication of an old version, changes nothing.
    assert!(matches!(
        fx.apply(CourseEvent::Archived {
            course_id: "c1".into()
        }),
        Applied::Ignored { .. }
    ));
    assert!(matches!(
        fx.apply(CourseEvent::Updated(k8s(2, &[]))),
        Applied::Ignored { .. }
    ));
    fx.commit();
    assert!(fx.hits("kubernetes").is_empty());

    // A re-publication (a newer version) does.
    fx.apply(CourseEvent::Published(k8s(3, &[])));
    fx.commit();
    assert_eq!(fx.hits("kubernetes"), ["course:c1"]);
}

#[test]
fn last_sequence_survives_a_restart_and_uncommitted_work_does_not() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = SearchIndex::open_or_create(dir.path()).unwrap();
        assert_eq!(index.last_sequence().unwrap(), 0);
        let mut indexer = index.indexer_with_budget(15_000_000).unwrap();
        indexer
            .apply(7, &CourseEvent::Published(k8s(1, &[])))
            .unwrap();
        indexer.skip(9); // e.g. a course.lesson.changed message
        assert_eq!(indexer.commit().unwrap(), 9);
        // Applied but never committed: lost with the process.
        indexer
            .apply(10, &CourseEvent::Published(course("c2", "Docker basics")))
            .unwrap();
        assert_eq!(indexer.last_sequence(), 10);
    }

    let index = SearchIndex::open_or_create(dir.path()).unwrap();
    assert_eq!(index.last_sequence().unwrap(), 9);
    let search = |q: &str| {
        index
            .search(&coursegraph_search::SearchRequest {
                query: q.into(),
                first: 10,
                ..Default::default()
            })
            .unwrap()
            .total_count
    };
    assert_eq!(search("kubernetes"), 1);
    assert_eq!(search("docker"), 0);
    // The versions were persisted too: a replay of message 7 is recognised.
    let mut indexer = index.indexer_with_budget(15_000_000).unwrap();
    assert_eq!(indexer.last_sequence(), 9);
    assert!(matches!(
        indexer
            .apply(7, &CourseEvent::Published(k8s(1, &[])))
            .unwrap(),
        Applied::Ignored { .. }
    ));
    assert_eq!(indexer.last_sequence(), 9, "the sequence never goes back");
}

fn identity(name: &str, created_nanos: i128) -> StreamIdentity {
    StreamIdentity {
        name: name.into(),
        created: time::OffsetDateTime::from_unix_timestamp_nanos(created_nanos)
            .expect("a valid time"),
    }
}

#[test]
fn the_stream_identity_is_committed_with_the_sequence_and_survives_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let first = identity("COURSE", 1_764_150_000_123_456_789);
    {
        let index = SearchIndex::open_or_create(dir.path()).unwrap();
        assert_eq!(index.stream_identity().unwrap(), None);
        let mut indexer = index.indexer_with_budget(15_000_000).unwrap();
        indexer.set_stream(first.clone());
        assert!(
            indexer.has_uncommitted(),
            "a new identity is a change to commit"
        );
        indexer
            .apply(3, &CourseEvent::Published(k8s(1, &[])))
            .unwrap();
        indexer.commit().unwrap();
        // An identity set but not committed is dropped by a rollback, like the documents.
        indexer.set_stream(identity("COURSE", 1));
        indexer.rollback().unwrap();
        assert_eq!(indexer.stream(), Some(&first));
    }
    // Written next to the sequence in meta.json, to the nanosecond.
    let meta = std::fs::read_to_string(dir.path().join("meta.json")).unwrap();
    assert!(
        meta.contains("2025-11-26T09:40:00.123456789Z"),
        "meta.json: {meta}"
    );
    let index = SearchIndex::open_or_create(dir.path()).unwrap();
    assert_eq!(index.last_sequence().unwrap(), 3);
    assert_eq!(index.stream_identity().unwrap(), Some(first));

    // Following another stream: the identity set before the reset is committed with the
    // emptied index, so a replay interrupted at any point is a prefix of that stream.
    let second = identity("COURSE", 1_764_160_000_000_000_000);
    let mut indexer = index.indexer_with_budget(15_000_000).unwrap();
    indexer.set_stream(second.clone());
    indexer.reset().unwrap();
    assert!(!indexer.has_uncommitted());
    assert_eq!(index.last_sequence().unwrap(), 0);
    assert_eq!(index.stream_identity().unwrap(), Some(second));
    assert_eq!(index.stats().unwrap().known_courses, 0);
}

#[test]
fn an_index_of_the_previous_version_reads_without_a_stream_identity() {
    let index = SearchIndex::in_ram().unwrap();
    // What the previous version committed: the sequence alone.
    let mut writer: tantivy::IndexWriter = index
        .index()
        .writer_with_num_threads(1, 15_000_000)
        .unwrap();
    let mut prepared = writer.prepare_commit().unwrap();
    prepared.set_payload(r#"{"last_sequence":12}"#);
    prepared.commit().unwrap();
    drop(writer);
    assert_eq!(index.last_sequence().unwrap(), 12);
    assert_eq!(index.stream_identity().unwrap(), None);
    let mut indexer = index.indexer_with_budget(15_000_000).unwrap();
    assert_eq!((indexer.last_sequence(), indexer.stream()), (12, None));
    // An indexer that was never told its stream commits no identity either (and records the
    // rules it indexes by: see tests/engine/paid.rs for what an older format leads to).
    indexer.skip(13);
    indexer.commit().unwrap();
    let metas = index.index().load_metas().unwrap();
    assert_eq!(
        metas.payload.as_deref(),
        Some(format!(r#"{{"last_sequence":13,"format":{INDEX_FORMAT}}}"#).as_str())
    );
}

#[test]
fn rollback_drops_documents_and_sequence_since_the_last_commit() {
    let mut fx = Fixture::with([course("c1", "Docker basics")]);
    let committed = fx.indexer.last_sequence();
    fx.apply(CourseEvent::Published(course("c2", "Kubernetes basics")));
    fx.apply(CourseEvent::Archived {
        course_id: "c1".into(),
    });
    assert!(fx.indexer.has_uncommitted());
    fx.indexer.rollback().unwrap();
    assert!(!fx.indexer.has_uncommitted());
    assert_eq!(fx.indexer.last_sequence(), committed);
    fx.commit();
    assert_eq!(fx.hits("basics"), ["course:c1"]);
    // The rolled-back archival left no pending state behind: c1 can still be archived.
    assert!(matches!(
        fx.apply(CourseEvent::Archived {
            course_id: "c1".into()
        }),
        Applied::Archived { .. }
    ));
}

#[test]
fn events_are_decoded_from_subject_and_payload() {
    let subject = |s: &str| Subject::parse(s).unwrap();
    let snapshot = k8s(1, &[]);

    let payload = CoursePublished {
        course: Some(snapshot.clone()),
    }
    .encode_to_vec();
    assert_eq!(
        CourseEvent::decode(&subject("course.course.published"), &payload).unwrap(),
        Some(CourseEvent::Published(snapshot.clone()))
    );
    let payload = CourseUpdated {
        course: Some(snapshot.clone()),
    }
    .encode_to_vec();
    assert_eq!(
        CourseEvent::decode(&subject("course.course.updated"), &payload).unwrap(),
        Some(CourseEvent::Updated(snapshot))
    );
    let payload = CourseArchived {
        course_id: "c1".into(),
        archived_at: "2025-02-01T00:00:00Z".into(),
    }
    .encode_to_vec();
    assert_eq!(
        CourseEvent::decode(&subject("course.course.archived"), &payload).unwrap(),
        Some(CourseEvent::Archived {
            course_id: "c1".into()
        })
    );
    // Events search does not react to.
    let payload = LessonChanged::default().encode_to_vec();
    assert_eq!(
        CourseEvent::decode(&subject("course.lesson.changed"), &payload).unwrap(),
        None
    );
    // Broken payloads and publications without a snapshot.
    assert!(matches!(
        CourseEvent::decode(&subject("course.course.published"), &[0xff, 0xff]),
        Err(SearchError::Event(EventError::Decode { .. }))
    ));
    let err = CourseEvent::decode(&subject("course.course.updated"), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "course event on `course.course.updated` cannot be indexed: it carries no course snapshot"
    );
}

#[test]
fn invalid_snapshots_are_rejected_and_change_nothing() {
    let mut fx = Fixture::with([course("c1", "Docker basics")]);
    let mut zero_version = course("c2", "Zero");
    zero_version.version = 0;
    let mut no_id = course(" ", "No id");
    no_id.version = 1;
    let mut bad_time = course("c3", "Bad time");
    bad_time.published_at = "yesterday".into();
    let mut bad_lesson = course("c4", "Bad lesson");
    bad_lesson.lessons = vec![lesson("", "Untitled", "")];
    for (snapshot, reason) in [
        (zero_version, "version 0 is below 1"),
        (no_id, "the course id is empty"),
        (
            bad_time,
            "published_at \"yesterday\" is not an RFC 3339 time",
        ),
        (bad_lesson, "lesson at position 0 has an empty id"),
    ] {
        let err = fx
            .indexer
            .apply(99, &CourseEvent::Published(snapshot))
            .unwrap_err();
        assert!(
            matches!(&err, SearchError::InvalidEvent { reason: r, .. } if r == reason),
            "{err}"
        );
        assert!(!err.is_bad_input());
    }
    assert!(!fx.indexer.has_uncommitted());
    assert!(fx
        .indexer
        .apply(
            99,
            &CourseEvent::Archived {
                course_id: "".into()
            }
        )
        .is_err());
    fx.commit();
    assert_eq!(fx.index.stats().unwrap().known_courses, 1);
}

#[test]
fn an_index_of_another_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = tantivy::schema::Schema::builder();
    builder.add_text_field("title", tantivy::schema::TEXT);
    tantivy::Index::create_in_dir(dir.path(), builder.build()).unwrap();
    let err = SearchIndex::open_or_create(dir.path()).err().unwrap();
    assert!(matches!(err, SearchError::SchemaMismatch { .. }), "{err}");
}
