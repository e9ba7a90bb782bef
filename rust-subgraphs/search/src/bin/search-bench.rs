//! The tantivy side of `npm run bench:search` (driven by `test/bench/search.mjs`; build it
//! with `cargo build --release --bin search-bench`).
//!
//! `search-bench <corpus.jsonl> <queries.json> <index-dir> <rounds> <index-runs>`
//!
//! - indexes the corpus (one course with its lessons per line) `<index-runs>` times, each into a
//!   new index in a folder of `<index-dir>`, exactly as the consumer does (one
//!   `course.course.published` event per course, through the [`Indexer`], committing every
//!   [`REBUILD_BATCH_MESSAGES`] events as a rebuild does), and times each run;
//! - runs every query once to warm up, then `<rounds>` times, timing each search (in process:
//!   top hits, total count, facets and snippets, as the subgraph answers);
//! - prints one JSON object on stdout: document counts, indexing time and throughput (median
//!   run, and every run's time), and per query its latency samples and its top 5 hits.
//!   Progress goes to stderr.

use std::io::BufRead;
use std::time::Instant;

use coursegraph_events::contracts::course::v1::{CourseLevel, CourseSnapshot, Lesson, Money};
use coursegraph_search::consumer::REBUILD_BATCH_MESSAGES;
use coursegraph_search::{CourseEvent, Filter, Indexer, Level, SearchIndex, SearchRequest};
use serde::Deserialize;
use serde_json::json;

/// A course of the corpus, as the generator writes it.
#[derive(Deserialize)]
struct CorpusCourse {
    id: String,
    title: String,
    summary: String,
    description: String,
    tags: Vec<String>,
    category: String,
    level: String,
    language: String,
    price_minor: i64,
    lessons: Vec<CorpusLesson>,
}

#[derive(Deserialize)]
struct CorpusLesson {
    id: String,
    module_title: String,
    title: String,
    body: String,
    /// Like the demo, each course opens with a free preview: the only paid body search indexes.
    #[serde(default)]
    free_preview: bool,
}

/// A query of the fixed set.
#[derive(Deserialize)]
struct BenchQuery {
    query: String,
    #[serde(default)]
    filter: BenchFilter,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BenchFilter {
    category: Option<String>,
    level: Option<String>,
    language: Option<String>,
    is_free: Option<bool>,
}

type Failure = Box<dyn std::error::Error>;

fn snapshot(course: CorpusCourse) -> CourseSnapshot {
    let level = match course.level.as_str() {
        "beginner" => CourseLevel::Beginner,
        "intermediate" => CourseLevel::Intermediate,
        "advanced" => CourseLevel::Advanced,
        _ => CourseLevel::Unspecified,
    };
    CourseSnapshot {
        course_id: course.id,
        version: 1,
        title: course.title,
        summary: course.summary,
        description: course.description,
        tags: course.tags,
        category: course.category,
        level: level.into(),
        language: course.language,
        price: Some(Money {
            amount_minor: course.price_minor,
            currency: "EUR".into(),
        }),
        published_at: "2026-01-15T10:00:00Z".into(),
        lessons: course
            .lessons
            .into_iter()
            .enumerate()
            .map(|(position, lesson)| Lesson {
                lesson_id: lesson.id,
                module_title: lesson.module_title,
                title: lesson.title,
                body_text: lesson.body,
                free_preview: lesson.free_preview,
                position: i32::try_from(position).unwrap_or(i32::MAX),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn level(value: &str) -> Option<Level> {
    [Level::Beginner, Level::Intermediate, Level::Advanced]
        .into_iter()
        .find(|level| level.as_str() == value)
}

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [corpus_path, queries_path, index_dir, rounds, index_runs] = args.as_slice() else {
        return Err(
            "usage: search-bench <corpus.jsonl> <queries.json> <index-dir> <rounds> <index-runs>"
                .into(),
        );
    };
    let rounds: usize = rounds.parse()?;
    let index_runs: usize = index_runs.parse()?;
    if index_runs == 0 {
        return Err("index-runs must be at least 1".into());
    }

    // One publication event per course, built before any timing.
    let mut events = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(corpus_path)?).lines() {
        let line = line?;
        if !line.trim().is_empty() {
            let course = snapshot(serde_json::from_str::<CorpusCourse>(&line)?);
            events.push(CourseEvent::Published(course));
        }
    }
    let queries: Vec<BenchQuery> = serde_json::from_str(&std::fs::read_to_string(queries_path)?)?;
    eprintln!("search-bench: {} courses read; indexing", events.len());

    let mut index_ms_runs = Vec::with_capacity(index_runs);
    let mut last_index = None;
    for run in 0..index_runs {
        let index =
            SearchIndex::open_or_create(std::path::Path::new(index_dir).join(run.to_string()))?;
        let mut indexer: Indexer = index.indexer()?;
        let started = Instant::now();
        let count = events.len();
        for (i, event) in events.iter().enumerate() {
            let sequence = u64::try_from(i + 1)?;
            indexer.apply(sequence, event)?;
            if (i + 1) % REBUILD_BATCH_MESSAGES == 0 {
                indexer.commit()?;
            }
            if (i + 1) % 5_000 == 0 {
                eprintln!(
                    "search-bench: run {}: {}/{count} courses indexed",
                    run + 1,
                    i + 1
                );
            }
        }
        indexer.commit()?;
        let index_ms = started.elapsed().as_secs_f64() * 1000.0;
        eprintln!("search-bench: run {}: indexed in {index_ms:.0} ms", run + 1);
        index_ms_runs.push(index_ms);
        last_index = Some(index);
    }
    let index = last_index.ok_or("no index run")?;
    let stats = index.stats()?;
    let docs = stats.courses + stats.lessons;
    let mut sorted = index_ms_runs.clone();
    sorted.sort_by(f64::total_cmp);
    let index_ms = sorted[sorted.len() / 2];
    eprintln!("search-bench: {docs} documents, median {index_ms:.0} ms; querying");

    let requests: Vec<SearchRequest> = queries
        .into_iter()
        .map(|q| SearchRequest {
            query: q.query,
            filter: Filter {
                category: q.filter.category,
                level: q.filter.level.as_deref().and_then(level),
                language: q.filter.language,
                is_free: q.filter.is_free,
            },
            first: 20,
            after: None,
        })
        .collect();
    let mut tops = Vec::with_capacity(requests.len());
    for request in &requests {
        let page = index.search(request)?;
        let top: Vec<_> = page
            .hits
            .iter()
            .take(5)
            .map(|hit| json!({ "kind": hit.kind.as_str(), "id": hit.id }))
            .collect();
        tops.push(json!({ "total": page.total_count, "top": top }));
    }
    let mut samples = vec![Vec::with_capacity(rounds); requests.len()];
    for round in 0..rounds {
        for (i, request) in requests.iter().enumerate() {
            let started = Instant::now();
            let page = index.search(request)?;
            samples[i].push(started.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(page);
        }
        eprintln!("search-bench: query round {}/{rounds}", round + 1);
    }
    let queries: Vec<_> = tops
        .into_iter()
        .zip(samples)
        .map(|(mut top, samples)| {
            top["samples_ms"] = json!(samples);
            top
        })
        .collect();
    println!(
        "{}",
        json!({
            "courses": stats.courses,
            "lessons": stats.lessons,
            "docs": docs,
            "index_ms": index_ms,
            "index_docs_per_s": docs as f64 / (index_ms / 1000.0),
            "index_ms_runs": index_ms_runs,
            "queries": queries,
        })
    );
    Ok(())
}
