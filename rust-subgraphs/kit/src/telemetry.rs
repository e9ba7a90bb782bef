//! OpenTelemetry traces of a Rust subgraph (docs/observability.md), with the TypeScript services'
//! settings, span names and attributes, so a trace crosses from the gateway into search and video
//! and from an event's producer into their consumers:
//!
//! - [`TracingSettings`]: `TRACING` (on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set),
//!   `OTEL_EXPORTER_OTLP_ENDPOINT`, `TRACING_SAMPLE_RATIO`, `OTEL_BSP_SCHEDULE_DELAY`;
//! - [`Tracing::start`]: the process's tracer provider (`service.name`, a parent-based sampler,
//!   a batch exporter POSTing OTLP/HTTP JSON to `<endpoint>/v1/traces`), whose layer
//!   [`init_logging`](crate::init_logging) installs beside the JSON logs;
//! - the spans: the SERVER span of a `/graphql` request ([`GraphqlEndpoint`](crate::GraphqlEndpoint)
//!   makes it), continuing the caller's `traceparent`, and a CONSUMER span per event handled
//!   ([`consumer_span`]), continuing the event's. They are `tracing` spans: what runs inside them
//!   (a service's own `info_span!`s, with a `coursegraph` target) lands under them.
//!
//! Off (the default), nothing is started and no layer installed; [`enabled`] is false, and every
//! helper returns at once without making a span.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;
use tracing::field::Empty;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::config::Env;

/// Where spans go when `TRACING=on` names no endpoint (a local Jaeger or collector), as in the
/// TypeScript services.
pub const LOCAL_OTLP_ENDPOINT: &str = "http://127.0.0.1:4318";

/// The instrumentation scope of the project's spans (the TypeScript services' too).
pub const TRACER_NAME: &str = "coursegraph";

/// Client-chosen text kept as an attribute is cut to this many characters.
const MAX_ATTRIBUTE_CHARS: usize = 128;

/// The tracing settings every service reads, as the TypeScript services' `tracingSettings`.
#[derive(Debug, Clone, PartialEq)]
pub struct TracingSettings {
    /// `TRACING` (`on`/`off`, `1`/`0`, `true`/`false`, `yes`/`no`); unset: on when
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    pub enabled: bool,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, without trailing slashes: the OTLP/HTTP receiver's base
    /// URL. Default [`LOCAL_OTLP_ENDPOINT`]. Plain `http` only.
    pub endpoint: String,
    /// `TRACING_SAMPLE_RATIO` (0 to 1, default 1): share of new traces recorded; a request or
    /// event that arrives with a trace follows its caller's decision.
    pub sample_ratio: f64,
    /// `OTEL_BSP_SCHEDULE_DELAY` (ms, default 1000): how often finished spans are sent.
    pub export_delay: Duration,
}

impl Default for TracingSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: LOCAL_OTLP_ENDPOINT.to_owned(),
            sample_ratio: 1.0,
            export_delay: Duration::from_millis(1000),
        }
    }
}

impl TracingSettings {
    /// Reads the four settings, recording an invalid one in `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> Self {
        let defaults = Self::default();
        let endpoint = env.value("OTEL_EXPORTER_OTLP_ENDPOINT").map(|raw| {
            let url = raw.trim().trim_end_matches('/').to_owned();
            // The exporter has no TLS (see Cargo.toml): an https receiver is refused here, by
            // name, rather than by every export failing later.
            match url::Url::parse(&url) {
                Ok(parsed) if parsed.scheme() == "http" && parsed.host().is_some() => url,
                Ok(parsed) if parsed.scheme() == "https" => {
                    env.error("OTEL_EXPORTER_OTLP_ENDPOINT", "must be an http:// URL: the Rust services export without TLS (send spans to a local collector)");
                    defaults.endpoint.clone()
                }
                _ => {
                    let reason = format!("must be an http:// URL, got {raw:?}");
                    env.error("OTEL_EXPORTER_OTLP_ENDPOINT", reason);
                    defaults.endpoint.clone()
                }
            }
        });
        let enabled = match env.value("TRACING").map(|v| v.trim().to_ascii_lowercase()) {
            None => endpoint.is_some(),
            Some(v) if ["on", "1", "true", "yes"].contains(&v.as_str()) => true,
            Some(v) if ["off", "0", "false", "no"].contains(&v.as_str()) => false,
            Some(v) => {
                env.error("TRACING", format!("must be on or off, got {v:?}"));
                false
            }
        };
        let sample_ratio = env.parse_or("TRACING_SAMPLE_RATIO", 1.0, "a number from 0 to 1");
        let sample_ratio = if (0.0..=1.0).contains(&sample_ratio) {
            sample_ratio
        } else {
            let reason = format!("must be a number from 0 to 1, got {sample_ratio}");
            env.error("TRACING_SAMPLE_RATIO", reason);
            defaults.sample_ratio
        };
        let delay_ms = env.parse_or("OTEL_BSP_SCHEDULE_DELAY", 1000u64, "a positive integer");
        let export_delay = if delay_ms > 0 {
            Duration::from_millis(delay_ms)
        } else {
            env.error(
                "OTEL_BSP_SCHEDULE_DELAY",
                "must be a positive integer, got \"0\"",
            );
            defaults.export_delay
        };
        Self {
            enabled,
            endpoint: endpoint.unwrap_or(defaults.endpoint),
            sample_ratio,
            export_delay,
        }
    }

    /// Where spans are POSTed: `<endpoint>/v1/traces`.
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.endpoint)
    }
}

/// Set once the layer is installed ([`crate::init_logging`]): the hooks make spans only then.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether this process records spans.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub(crate) fn set_enabled() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// The exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot start tracing: {0}")]
pub struct TracingError(#[source] opentelemetry_otlp::ExporterBuildError);

/// The process's tracer provider: started by [`Tracing::start`], its layer installed by
/// [`crate::init_logging`], and [`Tracing::shutdown`] at exit sends what is still buffered.
#[derive(Debug)]
pub struct Tracing {
    provider: SdkTracerProvider,
    /// For the start-up log line.
    url: String,
    sample_ratio: f64,
}

impl Tracing {
    /// The provider for `service` (`service.name`) when `settings` turn tracing on; `None`
    /// otherwise (nothing is started).
    ///
    /// # Errors
    /// When the exporter cannot be built (its HTTP client cannot start).
    pub fn start(service: &str, settings: &TracingSettings) -> Result<Option<Self>, TracingError> {
        if !settings.enabled {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .with_endpoint(settings.traces_url())
            .build()
            .map_err(TracingError)?;
        // Batches on the SDK's own thread: exporting never holds up the runtime's workers.
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(
                BatchConfigBuilder::default()
                    .with_scheduled_delay(settings.export_delay)
                    .build(),
            )
            .build();
        let provider = SdkTracerProvider::builder()
            .with_resource(
                Resource::builder_empty()
                    .with_service_name(service.to_owned())
                    .build(),
            )
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                settings.sample_ratio,
            ))))
            .with_span_processor(processor)
            .build();
        Ok(Some(Self {
            provider,
            url: settings.traces_url(),
            sample_ratio: settings.sample_ratio,
        }))
    }

    /// The layer turning the project's `tracing` spans (target `coursegraph*`) into
    /// OpenTelemetry spans. Log events are not copied into spans (as in the TypeScript
    /// services), nor are spans of other crates.
    pub(crate) fn layer<S>(&self) -> impl Layer<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        let layer = tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer(TRACER_NAME))
            // Attributes are the ones the project sets: no source locations, threads, target,
            // busy/idle times.
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false);
        layer.with_filter(filter_fn(|metadata| {
            metadata.is_span() && metadata.target().starts_with(TRACER_NAME)
        }))
    }

    /// Says where spans go (once the log subscriber is installed).
    pub(crate) fn log_started(&self) {
        tracing::info!(
            endpoint = self.url,
            sample_ratio = self.sample_ratio,
            "tracing on: spans exported over OTLP/HTTP"
        );
    }

    /// Sends the spans still buffered and stops the exporter: call once, at exit, after the
    /// last request and event (it blocks until the batch thread is done).
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "tracing: spans still buffered at exit may be lost");
        }
    }
}

/// The context continuing a W3C `traceparent`; the empty one (a new trace) when it is absent
/// or malformed.
fn context_of(traceparent: Option<&str>) -> Context {
    let carrier: HashMap<String, String> = traceparent
        .map(|value| HashMap::from([("traceparent".to_owned(), value.to_owned())]))
        .unwrap_or_default();
    TraceContextPropagator::new().extract(&carrier)
}

/// The `traceparent` naming the current span as the parent of what it causes (an event written
/// while a request is served): `None` when tracing is off or no span is current.
pub fn current_traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    let context = Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

fn bounded(text: &str) -> &str {
    text.char_indices()
        .nth(MAX_ATTRIBUTE_CHARS)
        .map_or(text, |(end, _)| &text[..end])
}

/// The SERVER span of one `/graphql` request (`POST /graphql`), continuing the caller's
/// `traceparent` header; `None` when tracing is off. [`GraphqlEndpoint`](crate::GraphqlEndpoint)
/// runs the request in it and records what follows with the `record_*` functions.
pub(crate) fn server_span(method: &str, headers: &HeaderMap) -> Option<Span> {
    if !enabled() {
        return None;
    }
    let span = tracing::info_span!(
        target: "coursegraph::graphql",
        "graphql request",
        otel.name = format!("{method} /graphql"),
        otel.kind = "server",
        http.request.method = method,
        url.path = "/graphql",
        graphql.operation.type = Empty,
        graphql.operation.name = Empty,
        graphql.error.codes = Empty,
        http.response.status_code = Empty,
        otel.status_code = Empty,
    );
    let parent =
        TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    // Fails only when the layer is missing, which `enabled` rules out.
    let _ = span.set_parent(parent);
    Some(span)
}

/// The operation a request runs (its first, for a batch).
pub(crate) fn record_operation(span: &Span, operation_type: &str, name: Option<&str>) {
    span.record("graphql.operation.type", operation_type);
    if let Some(name) = name {
        span.record("graphql.operation.name", bounded(name));
    }
}

/// The error codes of an answer (`extensions.code`, a fixed set), comma-separated; the span is
/// an error.
pub(crate) fn record_error_codes(span: &Span, codes: &[String]) {
    if codes.is_empty() {
        return;
    }
    span.record("graphql.error.codes", codes.join(","));
    span.record("otel.status_code", "error");
}

/// The HTTP status of the answer; 400 and above make the span an error.
pub(crate) fn record_status(span: &Span, status: u16) {
    span.record("http.response.status_code", status);
    if status >= 400 {
        span.record("otel.status_code", "error");
    }
}

/// One event a consumer handles, as its CONSUMER span names it.
#[derive(Debug, Clone, Copy)]
pub struct ConsumedEvent<'a> {
    /// The consuming context (`search`, `video`).
    pub context: &'a str,
    /// The durable consumer (`search-courses`).
    pub consumer: &'a str,
    /// The event's type (its subject, `course.course.published`).
    pub subject: &'a str,
    /// The event id (`Nats-Msg-Id`).
    pub id: &'a str,
    /// The event's `traceparent` header: the span's parent.
    pub traceparent: &'a str,
    /// How many times JetStream delivered it (1 the first time).
    pub delivery_count: i64,
}

/// The CONSUMER span of one event (`<subject> process`), a child of the event's `traceparent`,
/// with the TypeScript consumers' attributes; [`Span::none`] when tracing is off. Enter it (or
/// `.instrument` the handling with it) so that the handler's spans join the trace of the request
/// that caused the event; then [`record_outcome`].
pub fn consumer_span(event: &ConsumedEvent<'_>) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: "coursegraph::events",
        "event",
        otel.name = format!("{} process", event.subject),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.operation.type = "process",
        messaging.destination.name = event.subject,
        messaging.consumer.group.name = event.consumer,
        messaging.message.id = event.id,
        coursegraph.context = event.context,
        coursegraph.event.delivery_count = event.delivery_count,
        coursegraph.event.outcome = Empty,
        otel.status_code = Empty,
    );
    let _ = span.set_parent(context_of(Some(event.traceparent)));
    span
}

/// What handling the event came to (`applied`, `duplicate`, `ignored`, `malformed`, `failed`);
/// the last two make the span an error.
pub fn record_outcome(span: &Span, outcome: &str) {
    span.record("coursegraph.event.outcome", outcome);
    if matches!(outcome, "malformed" | "failed") {
        span.record("otel.status_code", "error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &'static [(&'static str, &'static str)]) -> (TracingSettings, Vec<String>) {
        let mut env = Env::new(move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        });
        let settings = TracingSettings::read(&mut env);
        let errors = env.errors().iter().map(ToString::to_string).collect();
        (settings, errors)
    }

    #[test]
    fn off_by_default_on_when_an_endpoint_is_named_unless_turned_off() {
        let (settings, errors) = read(&[]);
        assert_eq!(settings, TracingSettings::default());
        assert!(!settings.enabled && errors.is_empty());
        assert_eq!(settings.traces_url(), "http://127.0.0.1:4318/v1/traces");

        let (settings, _) = read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]);
        assert!(settings.enabled);
        assert_eq!(settings.traces_url(), "http://collector:4318/v1/traces");

        let (settings, _) = read(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("TRACING", "off"),
        ]);
        assert!(!settings.enabled);

        let (settings, errors) = read(&[
            ("TRACING", "ON"),
            ("TRACING_SAMPLE_RATIO", "0.25"),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(settings.enabled);
        assert_eq!(settings.endpoint, LOCAL_OTLP_ENDPOINT);
        assert!((settings.sample_ratio - 0.25).abs() < f64::EPSILON);
        assert_eq!(settings.export_delay, Duration::from_millis(200));
    }

    #[test]
    fn every_invalid_setting_is_named() {
        let (settings, errors) = read(&[
            ("TRACING", "sometimes"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example"),
            ("TRACING_SAMPLE_RATIO", "1.5"),
            ("OTEL_BSP_SCHEDULE_DELAY", "0"),
        ]);
        assert_eq!(
            errors,
            [
                "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// URL: the Rust services export without TLS (send spans to a local collector)",
                "TRACING must be on or off, got \"sometimes\"",
                "TRACING_SAMPLE_RATIO must be a number from 0 to 1, got 1.5",
                "OTEL_BSP_SCHEDULE_DELAY must be a positive integer, got \"0\"",
            ]
        );
        assert_eq!(settings, TracingSettings::default());
        let (_, errors) = read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")]);
        assert_eq!(
            errors,
            ["OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// URL, got \"collector:4318\""]
        );
    }

    #[test]
    fn off_makes_no_span_and_names_no_parent() {
        // This test binary installs no tracing layer.
        assert!(!enabled());
        assert!(server_span("POST", &HeaderMap::new()).is_none());
        let event = ConsumedEvent {
            context: "search",
            consumer: "search-courses",
            subject: "course.course.published",
            id: "0190d0e0-0000-7000-8000-000000000000",
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            delivery_count: 1,
        };
        assert!(consumer_span(&event).is_none());
        assert_eq!(current_traceparent(), None);
    }

    #[test]
    fn attributes_are_bounded_on_a_character_boundary() {
        assert_eq!(bounded("Search"), "Search");
        let long = "é".repeat(200);
        assert_eq!(bounded(&long).chars().count(), MAX_ATTRIBUTE_CHARS);
    }
}
