//! Course snapshots and an index to apply them to.

use coursegraph_events::contracts::course::v1::{CourseLevel, CourseSnapshot, Lesson, Money};
use coursegraph_search::{
    Applied, CourseEvent, DocKind, Filter, Indexer, SearchIndex, SearchPage, SearchRequest,
};

/// A published English course with no lessons, free, in category `programming`.
pub fn course(id: &str, title: &str) -> CourseSnapshot {
    CourseSnapshot {
        course_id: id.into(),
        version: 1,
        instructor_id: "i1".into(),
        title: title.into(),
        slug: id.into(),
        category: "programming".into(),
        level: CourseLevel::Beginner.into(),
        language: "en".into(),
        price: Some(Money {
            amount_minor: 0,
            currency: "EUR".into(),
        }),
        published_at: "2025-01-31T12:34:56.789Z".into(),
        instructor_name: "Ferris".into(),
        ..Default::default()
    }
}

pub fn lesson(id: &str, title: &str, body: &str) -> Lesson {
    Lesson {
        lesson_id: id.into(),
        module_id: "m1".into(),
        module_title: "Module one".into(),
        title: title.into(),
        body_text: body.into(),
        ..Default::default()
    }
}

/// An in-memory index and its writer; every event gets the next stream sequence.
pub struct Fixture {
    pub index: SearchIndex,
    pub indexer: Indexer,
    pub sequence: u64,
}

impl Fixture {
    pub fn new() -> Self {
        let index = SearchIndex::in_ram().expect("an index in memory");
        let indexer = index
            .indexer_with_budget(15_000_000)
            .expect("the only writer");
        Self {
            index,
            indexer,
            sequence: 0,
        }
    }

    /// A fixture holding `courses`, published and committed.
    pub fn with(courses: impl IntoIterator<Item = CourseSnapshot>) -> Self {
        let mut fixture = Self::new();
        for course in courses {
            fixture.apply(CourseEvent::Published(course));
        }
        fixture.commit();
        fixture
    }

    pub fn apply(&mut self, event: CourseEvent) -> Applied {
        self.sequence += 1;
        self.indexer
            .apply(self.sequence, &event)
            .expect("a valid event")
    }

    pub fn commit(&mut self) {
        self.indexer.commit().expect("commit");
    }

    pub fn search(&self, query: &str) -> SearchPage {
        self.search_with(query, Filter::default())
    }

    pub fn search_with(&self, query: &str, filter: Filter) -> SearchPage {
        self.index
            .search(&SearchRequest {
                query: query.into(),
                filter,
                first: 100,
                after: None,
            })
            .expect("a valid request")
    }

    /// `kind:id` of each hit, best first.
    pub fn hits(&self, query: &str) -> Vec<String> {
        keys(&self.search(query))
    }
}

pub fn keys(page: &SearchPage) -> Vec<String> {
    page.hits
        .iter()
        .map(|hit| {
            let kind = match hit.kind {
                DocKind::Course => "course",
                DocKind::Lesson => "lesson",
                DocKind::Caption => "caption",
            };
            format!("{kind}:{}", hit.id)
        })
        .collect()
}
