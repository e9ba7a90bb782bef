//! Generates the Rust types of the event contracts (`schema/events/**/*.proto`) into `OUT_DIR`,
//! without `protoc`: `protox` parses the files into a descriptor set, `prost-build` writes the
//! code, one file per package (`coursegraph.course.v1.rs`, ...), included by `src/contracts.rs`.
//!
//! It also writes `declared_events.rs`: every message whose leading comment starts with a
//! subject (`// course.course.published: ...`, the convention of the contract files), so a test
//! can check that each declared event has an `Event` implementation.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// The very type protox returns (re-exported by protox, so no extra dependency).
use protox::prost_reflect::prost_types::FileDescriptorSet;

/// The proto root, relative to this crate: the directory `buf` runs in, and the include path
/// the `.proto` files' names (and imports) are relative to.
const PROTO_ROOT: &str = "../../schema/events";

/// Field number of `FileDescriptorProto.message_type`, the first element of a message's
/// source location path.
const MESSAGE_TYPE_FIELD: i32 = 4;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: generating the event contracts from {PROTO_ROOT}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    // A directory: cargo re-runs this script when anything below it changes (or is added).
    println!("cargo:rerun-if-changed={PROTO_ROOT}");

    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let root = manifest_dir.join(PROTO_ROOT);

    let mut files = Vec::new();
    find_protos(&root, &root, &mut files)
        .map_err(|e| format!("reading {}: {e}", root.display()))?;
    if files.is_empty() {
        return Err(format!("no .proto files under {}", root.display()).into());
    }
    files.sort();

    // Source info is kept (protox::compile's default): prost-build turns proto comments into
    // doc comments, and `declared_events` reads them.
    let fds = protox::compile(&files, [&root]).map_err(|e| format!("{e:?}"))?;

    fs::write(out_dir.join("declared_events.rs"), declared_events(&fds))?;

    prost_build::Config::new()
        // `impl prost::Name` (NAME, PACKAGE) for every message: `Event` builds on it.
        .enable_type_names()
        .out_dir(&out_dir)
        .compile_fds(fds)?;
    Ok(())
}

/// Collects the `.proto` files below `dir`, as paths relative to `root` with `/` separators.
fn find_protos(root: &Path, dir: &Path, found: &mut Vec<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            find_protos(root, &path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            let relative = path.strip_prefix(root).map_err(io::Error::other)?;
            let name: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            found.push(name.join("/"));
        }
    }
    Ok(())
}

/// Rust source for `DECLARED_EVENTS`: `(package, message name, subject)` for every top-level
/// message whose leading comment starts with `<subject>:`.
fn declared_events(fds: &FileDescriptorSet) -> String {
    let mut entries = Vec::new();
    for file in &fds.file {
        let Some(info) = &file.source_code_info else {
            continue;
        };
        for location in &info.location {
            let [MESSAGE_TYPE_FIELD, index] = location.path[..] else {
                continue;
            };
            let (Some(comment), Ok(index)) = (&location.leading_comments, usize::try_from(index))
            else {
                continue;
            };
            let Some(message) = file.message_type.get(index) else {
                continue;
            };
            if let Some((subject, _)) = comment.trim_start().split_once(':') {
                if looks_like_subject(subject) {
                    entries.push((
                        file.package().to_owned(),
                        message.name().to_owned(),
                        subject,
                    ));
                }
            }
        }
    }
    entries.sort();

    let mut out = String::from(
        "/// `(package, message name, subject)` of every event message declared in the contracts.\n\
         pub(crate) const DECLARED_EVENTS: &[(&str, &str, &str)] = &[\n",
    );
    for (package, name, subject) in &entries {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "    ({package:?}, {name:?}, {subject:?}),");
    }
    out.push_str("];\n");
    out
}

/// Three non-empty `.`-separated segments of `a-z`, `0-9`, `_`; `Subject::parse` (in the
/// tests) applies the full rules.
fn looks_like_subject(s: &str) -> bool {
    let segments: Vec<&str> = s.split('.').collect();
    segments.len() == 3
        && segments.iter().all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}
