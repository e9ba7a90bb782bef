# syntax=docker/dockerfile:1
# The Rust search subgraph. Build from the repository's root (the events crate generates its types
# from schema/events/ at build time); not checked here: this machine has no container engine.
#   docker build -f deploy/docker/search.Dockerfile -t <registry>/coursegraph-search .

FROM rust:1-bookworm AS build
WORKDIR /src
COPY rust-subgraphs rust-subgraphs
COPY schema/events schema/events
RUN cargo build --release --locked --manifest-path rust-subgraphs/Cargo.toml --bin coursegraph-search

FROM debian:bookworm-slim AS service
# ca-certificates: NATS over TLS.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/rust-subgraphs/target/release/coursegraph-search /usr/local/bin/coursegraph-search
# An unprivileged user; the index lives on the volume mounted at SEARCH_INDEX_DIR.
USER 10001:10001
ENV SEARCH_INDEX_DIR=/var/lib/coursegraph/search-index
EXPOSE 4010
ENTRYPOINT ["/usr/local/bin/coursegraph-search"]
