//! The subgraph around the engine: HTTP (GraphQL, probes, SDL) and the course-stream consumer.

mod consumer;
mod http;
