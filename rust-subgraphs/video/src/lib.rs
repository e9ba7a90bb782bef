//! Coursegraph's video context, in Rust beside search: resumable uploads over tus 1.0, FFmpeg's
//! probe and an HLS ladder chosen per source, WebVTT captions, and playback through signed,
//! expiring URLs.
//!
//! FFmpeg runs as Debian's `ffmpeg` and `ffprobe` binaries in child processes rather than through
//! bindings to libavformat: a corrupt or hostile file can crash or hang the child, never the
//! subgraph; a job is cancelled by killing its process; progress comes from `-progress`; and the
//! workspace forbids `unsafe` code, which every libav binding needs.

// The media library: each module one concern, usable without the subgraph.
pub mod ladder;
pub mod probe;
pub mod serve;
pub mod signing;
pub mod storage;
pub mod transcode;
pub mod tus;
pub mod webvtt;

// The subgraph around it: configuration, auth, data access, events in and out, jobs, GraphQL.
pub mod access;
pub mod app;
pub mod auth;
pub mod captions;
pub mod config;
pub mod graphql;
pub mod jobs;
pub mod outbox;
pub mod pipeline;
pub mod playback;
pub mod projection;
pub mod store;
pub mod uploads;
