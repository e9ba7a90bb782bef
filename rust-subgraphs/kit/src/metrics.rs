//! Prometheus metrics of a Rust subgraph, with the names and labels of the TypeScript services
//! (`docs/metrics.md`): `coursegraph_graphql_requests_total{service, operation_type,
//! operation, outcome}` and `coursegraph_graphql_request_duration_seconds{service,
//! operation_type, operation}`, in the text exposition format, written here (two metric
//! families do not justify a dependency).
//!
//! [`GraphqlMetrics::record`] is called by [`GraphqlEndpoint`](crate::GraphqlEndpoint) for
//! every request of a batch; [`GraphqlMetrics::router`] serves `GET /metrics` to loopback and
//! the addresses of `METRICS_ALLOWED_CIDRS` only (404 for anyone else, judged by the socket's
//! peer: serve the router with `into_make_service_with_connect_info::<SocketAddr>()`).
//!
//! The `operation` label is bounded: a name of the project's persisted operations
//! (`schema/operations/persisted-documents.json`), or the one the gateway fetches for
//! (`<operation>__<subgraph>__<n>`), else `other`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::config::Env;

/// Upper bounds of the duration buckets, 5 ms to 10 s, as the TypeScript services'.
pub const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The label of operations outside the bounded set.
pub const OTHER_OPERATION: &str = "other";

/// Who may always read `/metrics`.
const LOOPBACK: &str = "127.0.0.0/8,::1";

/// Addresses and CIDR ranges (`10.0.0.0/8, ::1, 192.168.1.7`), checked against a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressList(Vec<(IpAddr, u8)>);

impl AddressList {
    /// Parses a comma-separated list.
    ///
    /// # Errors
    /// The first entry that is neither an address nor a CIDR range, named.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (address, bits) = entry
                .split_once('/')
                .map_or((entry, None), |(a, b)| (a, Some(b)));
            let address: IpAddr = address
                .parse()
                .map_err(|_| format!("\"{entry}\" is not an IP address or CIDR range"))?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match bits {
                None => max,
                Some(bits) => bits
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max && bits.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| format!("\"{entry}\" has a bad prefix length"))?,
            };
            ranges.push((address, prefix));
        }
        Ok(Self(ranges))
    }

    /// Whether `peer` (an IPv4-mapped IPv6 address counts as its IPv4 one) is in the list.
    #[must_use]
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 @ IpAddr::V4(_) => v4,
        };
        self.0.iter().any(|&(range, prefix)| match (range, peer) {
            (IpAddr::V4(r), IpAddr::V4(p)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(r) & mask == u32::from(p) & mask
            }
            (IpAddr::V6(r), IpAddr::V6(p)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(r) & mask == u128::from(p) & mask
            }
            _ => false,
        })
    }
}

/// `METRICS` (default on) and `METRICS_ALLOWED_CIDRS` (loopback is always allowed), as the
/// TypeScript services read them.
#[derive(Debug, Clone)]
pub struct MetricsSettings {
    /// `METRICS`: record and serve them (off only to measure their cost).
    pub enabled: bool,
    /// Who may read `/metrics`: loopback and `METRICS_ALLOWED_CIDRS`.
    pub allowed: AddressList,
}

impl MetricsSettings {
    /// Reads both, recording an invalid one in `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> Self {
        let enabled = match env.value("METRICS").map(|v| v.trim().to_ascii_lowercase()) {
            None => true,
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => true,
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => false,
            Some(v) => {
                env.error("METRICS", format!("must be on or off, got {v:?}"));
                true
            }
        };
        let extra = env.value("METRICS_ALLOWED_CIDRS").unwrap_or_default();
        let allowed = AddressList::parse(&format!("{LOOPBACK},{extra}")).unwrap_or_else(|reason| {
            env.error("METRICS_ALLOWED_CIDRS", reason);
            AddressList::parse(LOOPBACK).expect("loopback parses")
        });
        Self { enabled, allowed }
    }
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            allowed: AddressList::parse(LOOPBACK).expect("loopback parses"),
        }
    }
}

/// The names of the operations in a persisted-documents manifest (`{ "<sha256>": "<document>" }`).
#[must_use]
pub fn persisted_operation_names(manifest: &str) -> BTreeSet<String> {
    let Ok(serde_json::Value::Object(documents)) = serde_json::from_str(manifest) else {
        return BTreeSet::new();
    };
    let mut names = BTreeSet::new();
    for text in documents.values().filter_map(serde_json::Value::as_str) {
        if let Ok(document) = async_graphql::parser::parse_query(text) {
            names.extend(
                document
                    .operations
                    .iter()
                    .filter_map(|(name, _)| name.map(|n| n.to_string())),
            );
        }
    }
    names
}

/// The project's persisted operations, read from the repository (`schema/operations/`); none
/// (every operation `other`) when the file is not there.
#[must_use]
pub fn project_operation_names() -> BTreeSet<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/operations/persisted-documents.json"
    );
    match std::fs::read_to_string(path) {
        Ok(text) => persisted_operation_names(&text),
        Err(error) => {
            tracing::warn!(%error, path, "metrics: persisted operations unreadable; every operation counts as other");
            BTreeSet::new()
        }
    }
}

/// A subgraph's `operation` label: the persisted operation `name` is, or the one the gateway's
/// fetch `<operation>__<subgraph>__<n>` is for; else `other`.
#[must_use]
pub fn operation_label<'a>(name: Option<&'a str>, known: &BTreeSet<String>) -> &'a str {
    let Some(name) = name else {
        return OTHER_OPERATION;
    };
    if known.contains(name) {
        return name;
    }
    let base = name.rsplit_once("__").and_then(|(rest, index)| {
        let (base, subgraph) = rest.rsplit_once("__")?;
        let fetch = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
        let subgraph_ok = !subgraph.is_empty()
            && subgraph
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        (fetch && subgraph_ok).then_some(base)
    });
    match base {
        Some(base) if known.contains(base) => base,
        _ => OTHER_OPERATION,
    }
}

#[derive(Debug, Default)]
struct Histogram {
    /// Observations at or below each bound of [`DURATION_BUCKETS`] (not yet cumulative).
    buckets: [u64; DURATION_BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Series {
    /// (operation type, operation, outcome) -> requests.
    requests: BTreeMap<(String, String, &'static str), u64>,
    /// (operation type, operation) -> durations.
    durations: BTreeMap<(String, String), Histogram>,
}

/// The GraphQL request metrics of one service.
#[derive(Debug)]
pub struct GraphqlMetrics {
    service: String,
    known: BTreeSet<String>,
    settings: MetricsSettings,
    series: Mutex<Series>,
}

impl GraphqlMetrics {
    /// Metrics of `service`, naming the operations of `known` (see [`project_operation_names`]).
    #[must_use]
    pub fn new(service: &str, known: BTreeSet<String>, settings: MetricsSettings) -> Arc<Self> {
        Arc::new(Self {
            service: service.to_owned(),
            known,
            settings,
            series: Mutex::default(),
        })
    }

    /// Counts one request: its operation type (`query`, `mutation`, `subscription`), the name
    /// it ran (labelled by [`operation_label`]), whether it failed, how long it took.
    pub fn record(&self, operation_type: &str, name: Option<&str>, error: bool, seconds: f64) {
        if !self.settings.enabled {
            return;
        }
        let operation = operation_label(name, &self.known).to_owned();
        let outcome = if error { "error" } else { "ok" };
        let mut series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *series
            .requests
            .entry((operation_type.to_owned(), operation.clone(), outcome))
            .or_default() += 1;
        let histogram = series
            .durations
            .entry((operation_type.to_owned(), operation))
            .or_default();
        if let Some(bucket) = DURATION_BUCKETS.iter().position(|bound| seconds <= *bound) {
            histogram.buckets[bucket] += 1;
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// Every series in the Prometheus text exposition format (version 0.0.4).
    #[must_use]
    pub fn render(&self) -> String {
        let series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let service = escape(&self.service);
        let mut out = String::new();
        out.push_str("# HELP coursegraph_graphql_requests_total GraphQL requests answered, by operation and outcome (error: a response with errors or an HTTP status >= 400)\n");
        out.push_str("# TYPE coursegraph_graphql_requests_total counter\n");
        for ((ty, operation, outcome), n) in &series.requests {
            let _ = writeln!(
                out,
                "coursegraph_graphql_requests_total{{service=\"{service}\",operation_type=\"{}\",operation=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(ty),
                escape(operation)
            );
        }
        out.push_str("# HELP coursegraph_graphql_request_duration_seconds Time from the request to its response, by operation\n");
        out.push_str("# TYPE coursegraph_graphql_request_duration_seconds histogram\n");
        for ((ty, operation), histogram) in &series.durations {
            let labels = format!(
                "service=\"{service}\",operation_type=\"{}\",operation=\"{}\"",
                escape(ty),
                escape(operation)
            );
            let mut cumulative = 0;
            for (bound, n) in DURATION_BUCKETS.iter().zip(histogram.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "coursegraph_graphql_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "coursegraph_graphql_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "coursegraph_graphql_request_duration_seconds_sum{{{labels}}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "coursegraph_graphql_request_duration_seconds_count{{{labels}}} {}",
                histogram.count
            );
        }
        out
    }

    /// The route `GET /metrics`; merge it into the subgraph's router.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/metrics", get(serve_metrics))
            .with_state(Arc::clone(self))
    }
}

/// A label value as the exposition format writes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

async fn serve_metrics(State(metrics): State<Arc<GraphqlMetrics>>, request: Request) -> Response {
    // The socket's peer, not a header: a header can be forged. Without it (a router served
    // without connect info), nobody is let in.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if !metrics.settings.enabled || !peer.is_some_and(|ip| metrics.settings.allowed.contains(ip)) {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({ "status": "not found" })),
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Arc<GraphqlMetrics> {
        let known = ["Search".to_owned(), "CatalogPage".to_owned()]
            .into_iter()
            .collect();
        GraphqlMetrics::new("search", known, MetricsSettings::default())
    }

    #[test]
    fn renders_counters_and_cumulative_histograms_in_the_text_format() {
        let m = metrics();
        m.record("query", Some("Search"), false, 0.003);
        m.record("query", Some("Search__search__0"), false, 0.2);
        m.record("query", Some("Search"), true, 20.0);
        m.record("query", Some("MyOwnName"), false, 0.01);
        let text = m.render();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"# TYPE coursegraph_graphql_requests_total counter"));
        assert!(lines.contains(&"# TYPE coursegraph_graphql_request_duration_seconds histogram"));
        let s = "service=\"search\",operation_type=\"query\"";
        for expected in [
            format!("coursegraph_graphql_requests_total{{{s},operation=\"Search\",outcome=\"ok\"}} 2"),
            format!("coursegraph_graphql_requests_total{{{s},operation=\"Search\",outcome=\"error\"}} 1"),
            format!("coursegraph_graphql_requests_total{{{s},operation=\"other\",outcome=\"ok\"}} 1"),
            format!("coursegraph_graphql_request_duration_seconds_bucket{{{s},operation=\"Search\",le=\"0.005\"}} 1"),
            format!("coursegraph_graphql_request_duration_seconds_bucket{{{s},operation=\"Search\",le=\"0.1\"}} 1"),
            format!("coursegraph_graphql_request_duration_seconds_bucket{{{s},operation=\"Search\",le=\"0.25\"}} 2"),
            format!("coursegraph_graphql_request_duration_seconds_bucket{{{s},operation=\"Search\",le=\"10\"}} 2"),
            format!("coursegraph_graphql_request_duration_seconds_bucket{{{s},operation=\"Search\",le=\"+Inf\"}} 3"),
            format!("coursegraph_graphql_request_duration_seconds_sum{{{s},operation=\"Search\"}} 20.203"),
            format!("coursegraph_graphql_request_duration_seconds_count{{{s},operation=\"Search\"}} 3"),
        ] {
            assert!(lines.contains(&expected.as_str()), "missing {expected} in\n{text}");
        }
        // Every sample line is `name{labels} value`, its value a number; no caller's own name.
        for line in lines.iter().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').expect("a value");
            assert!(series.ends_with('}') && series.contains('{'), "{line}");
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(!line.contains("MyOwnName"));
        }
    }

    #[test]
    fn records_nothing_when_off() {
        let off = MetricsSettings {
            enabled: false,
            ..MetricsSettings::default()
        };
        let m = GraphqlMetrics::new("search", BTreeSet::new(), off);
        m.record("query", None, false, 0.1);
        assert!(!m.render().contains("coursegraph_graphql_requests_total{"));
    }

    #[test]
    fn labels_only_persisted_operations() {
        let known: BTreeSet<String> = ["LearnerHome".to_owned()].into_iter().collect();
        assert_eq!(operation_label(Some("LearnerHome"), &known), "LearnerHome");
        assert_eq!(
            operation_label(Some("LearnerHome__search__12"), &known),
            "LearnerHome"
        );
        assert_eq!(
            operation_label(Some("LearnerHome__search__x"), &known),
            "other"
        );
        assert_eq!(
            operation_label(Some("Stranger__search__0"), &known),
            "other"
        );
        assert_eq!(operation_label(None, &known), "other");
        let manifest = r#"{"a": "query Search($q: String!) { search(query: $q) { totalCount } }", "b": "fragment F on X { y } mutation Checkout { checkout }"}"#;
        let names = persisted_operation_names(manifest);
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["Checkout", "Search"]
        );
        assert!(project_operation_names().contains("CatalogPage"));
    }

    /// Through the kit's `/graphql` and `/metrics` routes, the peer set as
    /// `into_make_service_with_connect_info` sets it.
    #[tokio::test]
    async fn the_endpoint_counts_its_requests_and_serves_them_to_allowed_peers_only() {
        use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
        use axum::body::Body;
        use tower::ServiceExt;

        struct Query;
        #[Object]
        impl Query {
            async fn hello(&self) -> &str {
                "world"
            }
        }
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription).finish();
        let m = metrics();
        let endpoint = crate::GraphqlEndpoint::new(
            schema.clone(),
            &schema.sdl(),
            crate::OperationLimits::default(),
        )
        .unwrap()
        .with_metrics(Arc::clone(&m));
        let router = endpoint.router().merge(m.router());
        let call = |uri: &str, body: Option<&str>, peer: &str| {
            let mut request = match body {
                Some(body) => axum::http::Request::post(uri)
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_owned())),
                None => axum::http::Request::get(uri).body(Body::empty()),
            }
            .unwrap();
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 40000)));
            router.clone().oneshot(request)
        };
        for query in [
            "query Search { hello }",
            "query Search { hello }",
            "query Search { nope }",
            "{ hello }",
        ] {
            let body = serde_json::json!({ "query": query }).to_string();
            call("/graphql", Some(&body), "127.0.0.1").await.unwrap();
        }
        let scraped = call("/metrics", None, "127.0.0.1").await.unwrap();
        assert_eq!(scraped.status(), StatusCode::OK);
        let text = String::from_utf8(
            axum::body::to_bytes(scraped.into_body(), usize::MAX)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        let s = "service=\"search\",operation_type=\"query\"";
        for expected in [
            format!("coursegraph_graphql_requests_total{{{s},operation=\"Search\",outcome=\"ok\"}} 2"),
            format!("coursegraph_graphql_requests_total{{{s},operation=\"Search\",outcome=\"error\"}} 1"),
            format!("coursegraph_graphql_requests_total{{{s},operation=\"other\",outcome=\"ok\"}} 1"),
            format!("coursegraph_graphql_request_duration_seconds_count{{{s},operation=\"Search\"}} 3"),
        ] {
            assert!(text.lines().any(|line| line == expected), "missing {expected} in\n{text}");
        }
        let refused = call("/metrics", None, "192.0.2.7").await.unwrap();
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn parses_allowed_addresses_strictly() {
        let list = AddressList::parse("10.0.0.0/8, 192.168.1.7 ,fd00::/8").unwrap();
        assert!(list.contains("10.20.30.40".parse().unwrap()));
        assert!(list.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(list.contains("192.168.1.7".parse().unwrap()));
        assert!(!list.contains("192.168.1.8".parse().unwrap()));
        assert!(list.contains("fd00::2".parse().unwrap()));
        assert!(!list.contains("127.0.0.1".parse().unwrap()));
        assert_eq!(
            AddressList::parse("10.0.0.0/33").unwrap_err(),
            "\"10.0.0.0/33\" has a bad prefix length"
        );
        assert_eq!(
            AddressList::parse("example.com").unwrap_err(),
            "\"example.com\" is not an IP address or CIDR range"
        );
        let mut env = Env::new(|name: &str| {
            (name == "METRICS_ALLOWED_CIDRS").then(|| "10.0.0.0/8".to_owned())
        });
        let settings = MetricsSettings::read(&mut env);
        assert!(settings.enabled && settings.allowed.contains("10.1.1.1".parse().unwrap()));
        assert!(settings.allowed.contains("127.0.0.1".parse().unwrap()));
        assert!(settings.allowed.contains("::1".parse().unwrap()));
        assert!(env.errors().is_empty());
    }
}
