//! The GraphQL side of the subgraph: `Query.search` (Federation 2), answering with entity
//! references to `Course` and `Lesson` whose fields the gateway joins from the course subgraph.

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, Enum, ErrorExtensions, InputObject, Object,
    SDLExportOptions, Schema, SimpleObject, ID,
};

use crate::{
    DocKind, ErrorChain, Filter, Level, SearchError, SearchIndex, SearchPage, SearchRequest,
};

/// The subgraph's schema type.
pub type SearchSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// Page size when `first` is not given.
pub const DEFAULT_FIRST: i32 = 20;

/// Backstop for async-graphql's own depth check. The configured `LIMIT_MAX_DEPTH` (see
/// [`crate::limits`]) refuses deep operations first, with its reason and figures; this only bounds
/// what could reach the executor if the limits were turned off.
pub const MAX_DEPTH: usize = 64;

/// The schema, without data: enough for [`sdl`] and for building the served schema.
fn builder() -> async_graphql::SchemaBuilder<QueryRoot, EmptyMutation, EmptySubscription> {
    Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .enable_federation()
        .limit_depth(MAX_DEPTH)
}

/// The served schema, searching `index`.
pub fn schema(index: SearchIndex) -> SearchSchema {
    builder().data(index).finish()
}

/// The subgraph's Federation 2 SDL (with its `extend schema @link(...)` header), as
/// composition reads it.
pub fn sdl() -> String {
    builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive())
}

/// The root query type (`Query` in the schema).
pub struct QueryRoot;

#[Object(name = "Query")]
impl QueryRoot {
    /// Full-text search over published courses, their lessons and what is said in their
    /// videos: every word must match (in a title, summary, description, tag, lesson text or
    /// caption; stemmed, with typos tolerated by word length, the last word also as a prefix).
    /// Best first.
    async fn search(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The words to look for, as typed (1 to 200 characters; not a query syntax)."
        )]
        query: String,
        #[graphql(desc = "Facet filters; all given ones must hold.")] filter: Option<SearchFilter>,
        #[graphql(default = 20, desc = "Page size, 1 to 100.")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
        // Nullable, so that with this subgraph down the gateway nulls only `search`, not a whole
        // answer that also asks other subgraphs.
    ) -> async_graphql::Result<Option<SearchConnection>> {
        let filter = filter.unwrap_or_default();
        let level = match filter.level.as_deref() {
            None => None,
            Some(level) => Some(parse_level(level).ok_or_else(|| {
                bad_input(format!(
                    "filter.level must be one of beginner, intermediate, advanced; got {:?}",
                    truncate(level, 40)
                ))
            })?),
        };
        let request = SearchRequest {
            query,
            filter: Filter {
                category: filter.category,
                level,
                language: filter.language,
                is_free: filter.is_free,
            },
            first: i64::from(first.unwrap_or(DEFAULT_FIRST)),
            after,
        };
        let index = ctx.data::<SearchIndex>()?.clone();
        let page = tokio::task::spawn_blocking(move || index.search(&request))
            .await
            .map_err(|join_error| {
                tracing::error!(error = %ErrorChain(&join_error), "search task failed");
                internal()
            })?
            .map_err(to_graphql_error)?;
        Ok(Some(SearchConnection::from(page)))
    }
}

/// A GraphQL error for `error`: its message and `BAD_USER_INPUT` when it is the caller's bad
/// input; otherwise logged, and `INTERNAL` with a message that gives nothing away.
pub fn to_graphql_error(error: SearchError) -> async_graphql::Error {
    if error.is_bad_input() {
        bad_input(error.to_string())
    } else {
        tracing::error!(error = %error.chain(), "search failed");
        internal()
    }
}

fn bad_input(message: String) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
}

fn internal() -> async_graphql::Error {
    async_graphql::Error::new("Unexpected error.").extend_with(|_, e| e.set("code", "INTERNAL"))
}

fn parse_level(value: &str) -> Option<Level> {
    [Level::Beginner, Level::Intermediate, Level::Advanced]
        .into_iter()
        .find(|level| level.as_str().eq_ignore_ascii_case(value.trim()))
}

/// At most `max` characters of `value` (for echoing input in an error message).
fn truncate(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}

/// Facet filters of a search; a missing field means "any".
#[derive(InputObject, Default)]
pub struct SearchFilter {
    /// A category (case-insensitive), e.g. `programming`.
    pub category: Option<String>,
    /// `beginner`, `intermediate` or `advanced` (case-insensitive).
    pub level: Option<String>,
    /// A language as a BCP 47 primary subtag, e.g. `en` (case-insensitive).
    pub language: Option<String>,
    /// Free (`true`) or paid (`false`) courses only.
    pub is_free: Option<bool>,
}

/// One page of search hits.
#[derive(SimpleObject)]
pub struct SearchConnection {
    /// The hits of this page, best first.
    pub edges: Vec<SearchEdge>,
    /// Where the page stands.
    pub page_info: PageInfo,
    /// How many courses, lessons and caption moments match the query and filter.
    pub total_count: i32,
    /// Counts per facet value over everything that matches.
    pub facets: SearchFacets,
}

/// Relay page info (shared with every subgraph).
#[derive(SimpleObject)]
#[graphql(shareable)]
pub struct PageInfo {
    /// Whether `after: endCursor` gives more hits.
    pub has_next_page: bool,
    /// The cursor of the last hit of the page; null on an empty page.
    pub end_cursor: Option<String>,
}

/// A hit and its cursor.
#[derive(SimpleObject)]
pub struct SearchEdge {
    /// Pass as `after` to get the hits after this one.
    pub cursor: String,
    /// The hit.
    pub node: SearchHit,
}

/// A course, lesson or moment of a lesson's video that matches.
#[derive(SimpleObject)]
pub struct SearchHit {
    /// Relevance; comparable only within one search.
    pub score: f64,
    /// The title, HTML-escaped, matching words in `<b>`.
    pub title_snippet: String,
    /// The best matching fragment of the text, HTML-escaped, matching words in `<b>`; null when
    /// only the title or tags matched.
    pub text_snippet: Option<String>,
    /// Whether the hit is a course, one of its lessons, or a moment of a lesson's video.
    pub kind: SearchHitKind,
    /// The course (for a lesson: its course). Always set here; nullable so that, when the course
    /// subgraph is unavailable, the gateway nulls only this reference and the hit keeps its
    /// snippets.
    pub course: Option<Course>,
    /// The lesson, for a lesson or caption hit.
    pub lesson: Option<Lesson>,
    /// For a caption hit: when the words start being said in the lesson's video, in seconds
    /// from its start; null for other hits.
    pub starts_at_seconds: Option<f64>,
    /// For a caption hit: when they end, in seconds; null for other hits.
    pub ends_at_seconds: Option<f64>,
    /// For a caption hit: the caption track's language tag, lowercased (e.g. `en`, `pt-br`);
    /// null for other hits.
    pub caption_language: Option<String>,
}

/// What a hit is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SearchHitKind {
    /// A course.
    Course,
    /// A lesson of a course.
    Lesson,
    /// A moment of a lesson's video where the words are said (its captions).
    Caption,
}

/// A course (reference; its fields come from the course subgraph).
#[derive(SimpleObject)]
#[graphql(unresolvable = "id")]
pub struct Course {
    /// The course id.
    pub id: ID,
}

/// A lesson (reference; its fields come from the course subgraph).
#[derive(SimpleObject)]
#[graphql(unresolvable = "id")]
pub struct Lesson {
    /// The lesson id.
    pub id: ID,
}

/// Facet counts of a search, each sorted by count (highest first), then value.
#[derive(SimpleObject)]
pub struct SearchFacets {
    /// Per category.
    pub category: Vec<FacetCount>,
    /// Per level: `beginner`, `intermediate`, `advanced`.
    pub level: Vec<FacetCount>,
    /// Per language (`en`, `ru`, ...).
    pub language: Vec<FacetCount>,
    /// `free` and `paid`.
    pub price: Vec<FacetCount>,
}

/// How many matching courses and lessons have a facet value.
#[derive(SimpleObject)]
pub struct FacetCount {
    /// The value, e.g. `programming`.
    pub value: String,
    /// How many.
    pub count: i32,
}

/// Milliseconds as seconds (exact below 2^53 ms, some 285,000 years).
#[allow(clippy::cast_precision_loss)]
fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn facet_counts(counts: Vec<crate::FacetCount>) -> Vec<FacetCount> {
    counts
        .into_iter()
        .map(|c| FacetCount {
            value: c.value,
            count: count(c.count),
        })
        .collect()
}

impl From<SearchPage> for SearchConnection {
    fn from(page: SearchPage) -> Self {
        let offset_cursors = page.hits.len();
        let cursors = crate::cursor::cursors_of_page(page.end_cursor.as_deref(), offset_cursors);
        let edges = page
            .hits
            .into_iter()
            .zip(cursors)
            .map(|(hit, cursor)| SearchEdge {
                cursor,
                node: SearchHit {
                    score: f64::from(hit.score),
                    title_snippet: hit.snippet.title,
                    text_snippet: hit.snippet.text,
                    kind: match hit.kind {
                        DocKind::Course => SearchHitKind::Course,
                        DocKind::Lesson => SearchHitKind::Lesson,
                        DocKind::Caption => SearchHitKind::Caption,
                    },
                    lesson: (hit.kind != DocKind::Course).then(|| Lesson {
                        id: ID(hit.id.clone()),
                    }),
                    starts_at_seconds: hit.caption.as_ref().map(|c| seconds(c.start_ms)),
                    ends_at_seconds: hit.caption.as_ref().map(|c| seconds(c.end_ms)),
                    caption_language: hit.caption.map(|c| c.language),
                    course: Some(Course {
                        id: ID(hit.course_id),
                    }),
                },
            })
            .collect();
        Self {
            edges,
            page_info: PageInfo {
                has_next_page: page.has_next_page,
                end_cursor: page.end_cursor,
            },
            total_count: count(page.total_count),
            facets: SearchFacets {
                category: facet_counts(page.facets.category),
                level: facet_counts(page.facets.level),
                language: facet_counts(page.facets.language),
                price: facet_counts(page.facets.price),
            },
        }
    }
}
