//! `src/video.graphql` (what composition reads, without building Rust) is the SDL the binary
//! prints. To refresh it: `cargo run -p coursegraph-video -- --print-sdl > video/src/video.graphql`.

#[test]
fn the_committed_sdl_is_the_served_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/video.graphql");
    let committed = std::fs::read_to_string(path).expect("video.graphql is readable");
    assert!(
        committed == coursegraph_video::graphql::sdl(),
        "video/src/video.graphql is stale: run `cargo run -p coursegraph-video -- --print-sdl > video/src/video.graphql`"
    );
    // Federation: Lesson is the course subgraph's entity, extended here with `video`.
    assert!(committed.contains("type Lesson @key(fields: \"id\")"));
    assert!(committed.contains("video: Video"));
}
