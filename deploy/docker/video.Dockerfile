# syntax=docker/dockerfile:1
# The Rust video subgraph. Build from the repository's root (the events crate generates its types
# from schema/events/ at build time); not checked here: this machine has no container engine.
#   docker build -f deploy/docker/video.Dockerfile -t <registry>/coursegraph-video .

FROM rust:1-bookworm AS build
WORKDIR /src
COPY rust-subgraphs rust-subgraphs
COPY schema/events schema/events
RUN cargo build --release --locked --manifest-path rust-subgraphs/Cargo.toml --bin coursegraph-video

FROM debian:bookworm-slim AS service
# ffmpeg: the binary runs `ffprobe` and `ffmpeg` from PATH to probe and transcode uploads.
# ca-certificates: NATS, Redis and PostgreSQL over TLS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates ffmpeg \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/rust-subgraphs/target/release/coursegraph-video /usr/local/bin/coursegraph-video
# An unprivileged user; uploads and renditions live on the volume mounted at VIDEO_STORAGE_DIR.
USER 10001:10001
ENV VIDEO_STORAGE_DIR=/var/lib/coursegraph/video
EXPOSE 4011
ENTRYPOINT ["/usr/local/bin/coursegraph-video"]
