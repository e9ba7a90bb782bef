//! The subgraph around the engine: HTTP (GraphQL, probes, SDL) and the stream consumer.

mod captions;
mod consumer;
mod http;
