//! The measuring side of `npm run bench:video` (driven by `test/bench/video.mjs`; build it with
//! `cargo build --release -p coursegraph-video --bin video-bench`).
//!
//! `video-bench <work-dir> <source-seconds> <probe-rounds> <upload-mb> <per-title-seconds> [parts]`
//!
//! Every medium is made here with FFmpeg's own test sources (`testsrc2`, `sine`, `color` +
//! `drawtext`, `noise`) into `<work-dir>`; nothing comes from elsewhere. `parts` (default
//! `transcode,probe,upload,per-title`) picks the sections:
//!
//! - **transcode**: a 1080p25 `testsrc2` + `sine` source of `<source-seconds>`; each rendition
//!   of its ladder transcoded alone (a plan of one rung), then the whole ladder at once (what
//!   the worker does), through [`transcode`]; baseline: a plain `ffmpeg` x264 `veryfast` encode
//!   of the source to one 720p MP4 at the 720p rung's bitrate (no HLS, no loudness
//!   normalisation, no poster or storyboard). Wall time and the CPU of the child processes
//!   (`cutime + cstime` of `/proc/self/stat`, which counts every child reaped: ffmpeg and the
//!   read-back ffprobes) per second of video.
//! - **probe**: [`probe`] over a varied set (MP4 with its index first and last, MKV without
//!   audio, WebM, a portrait MOV, the 1080p source, a file cut at half its bytes, an audio-only
//!   WAV, a text file), `<probe-rounds>` rounds after a warm-up; each verdict is checked. Baseline:
//!   spawning `ffprobe -version` as many times.
//! - **upload**: the tus router over [`LocalStorage`] with an authorizer that lets everyone in,
//!   served by axum on 127.0.0.1:0 in this process, driven by a raw HTTP/1.1 client: an upload of
//!   `<upload-mb>` MiB in 8 MiB `PATCH`es with `sha256` checksums (computed before the clock
//!   starts), then two uploads whose connection is dropped halfway through the `PATCH` that
//!   crosses 50 % (one of them checksummed, one not), each resumed from `HEAD`'s offset and
//!   compared by sha256 with the source. Baselines: the same bytes written to a file in 8 MiB
//!   writes each followed by `fsync`, and `POST`ed in 8 MiB requests to a handler that appends
//!   them to a file and `fsync`s. CPU is this process's own (server and client together).
//! - **per-title**: two 720p sources without audio, slides (`color` + `drawtext`, a new slide
//!   every 4 s) and noise (`testsrc2` + `noise=alls=30:allf=t`); for each, the standard ladder
//!   and the per-title ladder ([`measure_complexity`]) are transcoded, and every rendition is
//!   compared with the source scaled to its size by FFmpeg's `ssim` filter. The sources are
//!   silent, so a rendition's measured bitrate is its video (and container) bits.
//!
//! Prints one JSON object on stdout; progress goes to stderr.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use coursegraph_video::ladder::{
    measure_complexity, plan_ladder, ComplexityOptions, LadderOptions, Rendition,
};
use coursegraph_video::probe::{probe, ProbeError, ProbeOptions, VideoProbe};
use coursegraph_video::storage::{LocalStorage, Metadata, UploadInfo};
use coursegraph_video::transcode::{
    transcode, CancelToken, TranscodeOptions, TranscodeOutput, TranscodeRequest,
};
use coursegraph_video::tus::{self, AuthError, CompletedUpload, TusConfig, UploadAuthorizer};
use futures_util::StreamExt as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Bytes per `PATCH` (and per baseline write), and per MiB.
const CHUNK_BYTES: usize = 8 * MIB;
const MIB: usize = 1024 * 1024;
/// Per-title: the largest SSIM difference still called equal quality.
const EQUAL_SSIM: f64 = 0.005;
/// The per-title sources' size.
const PER_TITLE_SIZE: (u32, u32) = (1280, 720);

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        return Err("usage: video-bench <work-dir> <source-seconds> <probe-rounds> <upload-mb> <per-title-seconds> [parts]".into());
    }
    let work = PathBuf::from(&args[1]);
    let source_seconds: u32 = args[2].parse()?;
    let probe_rounds: usize = args[3].parse()?;
    let upload_mb: usize = args[4].parse()?;
    let per_title_seconds: u32 = args[5].parse()?;
    let parts = args
        .get(6)
        .map_or("transcode,probe,upload,per-title", String::as_str);
    let wants = |part: &str| parts.split(',').any(|p| p == part);
    if source_seconds == 0 || per_title_seconds == 0 || probe_rounds == 0 || upload_mb < 16 {
        return Err("seconds and rounds must be positive, the upload at least 16 MiB".into());
    }
    std::fs::create_dir_all(&work)?;
    let ticks = clock_ticks().await;

    let mut results = Vec::new();
    let mut notes = BTreeMap::new();
    let ffmpeg_version = tool_version().await?;
    let vmaf = ffmpeg_has_filter("libvmaf").await?;
    notes.insert("ffmpeg", json!(ffmpeg_version));
    notes.insert(
        "vmaf",
        json!(if vmaf {
            "available but not used: SSIM only"
        } else {
            "not available: this ffmpeg has no libvmaf filter (Debian's build); quality is SSIM only"
        }),
    );

    // The transcode source is also one of the probe's files.
    let source = work.join("source-1080p.mp4");
    if wants("transcode") || wants("probe") {
        progress(&format!(
            "making the source: 1080p25 testsrc2 + sine, {source_seconds} s"
        ));
        make_source(&source, source_seconds).await?;
    }
    if wants("transcode") {
        results.extend(bench_transcode(&work, &source, ticks).await?);
    }
    if wants("probe") {
        results.extend(bench_probe(&work, &source, probe_rounds, ticks).await?);
    }
    if wants("upload") {
        results.extend(bench_upload(&work, upload_mb, ticks).await?);
    }
    if wants("per-title") {
        results.extend(bench_per_title(&work, per_title_seconds, ticks).await?);
    }
    let report = json!({ "tools": notes, "results": results });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{report}")?;
    Ok(())
}

fn progress(message: &str) {
    eprintln!("video-bench: {message}");
}

// ---------------------------------------------------------------------------------------------
// Measuring: wall time and CPU seconds from /proc/self/stat.

/// Clock ticks per second of `/proc`'s CPU figures (`getconf CLK_TCK`, 100 on Linux).
async fn clock_ticks() -> f64 {
    let output = Command::new("getconf").arg("CLK_TCK").output().await;
    output
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// CPU seconds so far: this process's own (every thread) and its reaped children's.
fn cpu_seconds(ticks: f64) -> Result<(f64, f64), Failure> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces) start at field 3, `state`.
    let rest = stat
        .rsplit_once(") ")
        .map(|(_, r)| r)
        .ok_or("/proc/self/stat unreadable")?;
    let fields: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse::<f64>())
        .collect::<Result<_, _>>()?;
    let [utime, stime, cutime, cstime] = fields[..] else {
        return Err("/proc/self/stat has too few fields".into());
    };
    Ok(((utime + stime) / ticks, (cutime + cstime) / ticks))
}

/// A stopwatch for wall time and CPU.
struct Meter {
    ticks: f64,
    started: Instant,
    own: f64,
    children: f64,
}

/// What a [`Meter`] measured.
struct Measured {
    wall_s: f64,
    own_cpu_s: f64,
    children_cpu_s: f64,
}

impl Meter {
    fn start(ticks: f64) -> Result<Self, Failure> {
        let (own, children) = cpu_seconds(ticks)?;
        Ok(Self {
            ticks,
            started: Instant::now(),
            own,
            children,
        })
    }

    fn stop(&self) -> Result<Measured, Failure> {
        let wall_s = self.started.elapsed().as_secs_f64();
        let (own, children) = cpu_seconds(self.ticks)?;
        Ok(Measured {
            wall_s,
            own_cpu_s: own - self.own,
            children_cpu_s: children - self.children,
        })
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10_f64.powi(digits);
    (value * scale).round() / scale
}

/// The p-th percentile of ascending `sorted` (nearest rank, as test/bench/lib/measure.mjs).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency_summary(samples: &[f64]) -> Value {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    json!({
        "samples": sorted.len(),
        "p50_ms": round(percentile(&sorted, 50.0), 2),
        "p99_ms": round(percentile(&sorted, 99.0), 2),
        "max_ms": round(sorted.last().copied().unwrap_or(f64::NAN), 2),
    })
}

// ---------------------------------------------------------------------------------------------
// FFmpeg helpers.

/// An ffmpeg command with the flags every run here uses (no prompt, no banner, overwrite).
fn ffmpeg() -> Command {
    let mut command = Command::new("ffmpeg");
    command.args(["-nostdin", "-hide_banner", "-nostats", "-y"]);
    command
}

/// Fixed flags written as one string: `"-c:v libx264 -preset veryfast"`.
fn words(flags: &str) -> std::str::SplitWhitespace<'_> {
    flags.split_whitespace()
}

/// Runs `command`; its error output (where filters such as `ssim` report) on success.
async fn run(command: &mut Command) -> Result<String, Failure> {
    let output = command.output().await?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        let last = stderr.lines().last().unwrap_or_default();
        return Err(format!("{command:?}: {last}").into());
    }
    Ok(stderr)
}

async fn tool_version() -> Result<String, Failure> {
    let output = Command::new("ffmpeg").arg("-version").output().await?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

async fn ffmpeg_has_filter(name: &str) -> Result<bool, Failure> {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-filters"])
        .output()
        .await?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .lines()
        .any(|line| line.split_whitespace().nth(1) == Some(name)))
}

/// 1080p25 `testsrc2` with a 440 Hz `sine`, x264 at high quality: the transcode source.
async fn make_source(path: &Path, seconds: u32) -> Result<(), Failure> {
    let video = format!("testsrc2=size=1920x1080:rate=25:duration={seconds}");
    let audio = format!("sine=frequency=440:sample_rate=48000:duration={seconds}");
    run(ffmpeg()
        .args(words("-f lavfi -i"))
        .arg(&video)
        .args(words("-f lavfi -i"))
        .arg(&audio)
        .args(words("-c:v libx264 -preset veryfast -crf 18"))
        .args(words("-pix_fmt yuv420p -g 50 -c:a aac -b:a 128k"))
        .args(words("-movflags +faststart"))
        .arg(path))
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// transcode

async fn run_transcode(
    source: &Path,
    probe: &VideoProbe,
    renditions: &[Rendition],
    destination: &Path,
) -> Result<TranscodeOutput, Failure> {
    let request = TranscodeRequest {
        source,
        probe,
        renditions,
        destination,
    };
    Ok(transcode(
        &request,
        &TranscodeOptions::default(),
        |_| {},
        &CancelToken::new(),
    )
    .await?)
}

fn speed(name: &str, video_seconds: f64, measured: &Measured) -> Value {
    let cpu = measured.children_cpu_s;
    json!({
        "name": name,
        "video_s": round(video_seconds, 2),
        "wall_s": round(measured.wall_s, 2),
        "x_realtime": round(video_seconds / measured.wall_s, 3),
        "cpu_s": round(cpu, 2),
        "cpu_s_per_video_s": round(cpu / video_seconds, 3),
        "cores_busy": round(cpu / measured.wall_s, 2),
    })
}

async fn bench_transcode(work: &Path, source: &Path, ticks: f64) -> Result<Vec<Value>, Failure> {
    let probed = probe(source, &ProbeOptions::default()).await?;
    let plan = plan_ladder(&probed, &LadderOptions::default());
    let seconds = probed.duration_seconds;
    let out = work.join("transcode");
    let mut results = Vec::new();

    // Baseline first: a plain 720p encode at the 720p rung's rate, audio without loudnorm.
    let baseline_rung = plan
        .iter()
        .find(|r| r.name == "720p")
        .or(plan.last())
        .ok_or("the plan is empty")?;
    progress(&format!(
        "transcode: baseline, plain ffmpeg x264 veryfast to one {}x{} MP4",
        baseline_rung.width, baseline_rung.height
    ));
    std::fs::create_dir_all(&out)?;
    let baseline_file = out.join("baseline-720p.mp4");
    let scale = format!("scale={}:{}", baseline_rung.width, baseline_rung.height);
    let rate = baseline_rung.video_bitrate.to_string();
    let maxrate = baseline_rung.video_max_bitrate.to_string();
    let bufsize = (baseline_rung.video_bitrate * 2).to_string();
    let gop = baseline_rung.gop_frames.to_string();
    let meter = Meter::start(ticks)?;
    run(ffmpeg()
        .args(words("-v error -i"))
        .arg(source)
        .arg("-vf")
        .arg(&scale)
        .args(words("-c:v libx264 -preset veryfast"))
        .args([
            "-b:v", &rate, "-maxrate", &maxrate, "-bufsize", &bufsize, "-g", &gop,
        ])
        .args(words("-c:a aac -b:a 128k"))
        .arg(&baseline_file))
    .await?;
    let measured = meter.stop()?;
    let mut baseline = speed("transcode/baseline-ffmpeg-720p", seconds, &measured);
    baseline["note"] = json!(format!(
        "ffmpeg -i source -vf {scale} -c:v libx264 -preset veryfast -b:v {rate} (maxrate, bufsize, GOP as the rung) -c:a aac -b:a 128k out.mp4"
    ));
    let baseline_wall = measured.wall_s;
    std::fs::remove_file(&baseline_file)?;

    for rendition in &plan {
        progress(&format!(
            "transcode: {} alone ({}x{}, {} kb/s)",
            rendition.name,
            rendition.width,
            rendition.height,
            rendition.video_bitrate / 1000
        ));
        let destination = out.join(format!("only-{}", rendition.name));
        let meter = Meter::start(ticks)?;
        let output = run_transcode(
            source,
            &probed,
            std::slice::from_ref(rendition),
            &destination,
        )
        .await?;
        let measured = meter.stop()?;
        let mut row = speed(&format!("transcode/{}", rendition.name), seconds, &measured);
        row["size"] = json!(format!("{}x{}", rendition.width, rendition.height));
        row["planned_video_kbps"] = json!(rendition.video_bitrate / 1000);
        row["measured_kbps"] = json!(output.renditions.first().map(|r| r.bitrate / 1000));
        row["ffmpeg_x_realtime"] = json!(round(output.x_realtime(), 3));
        results.push(row);
        std::fs::remove_dir_all(&destination)?;
    }

    progress(&format!(
        "transcode: the whole ladder ({} renditions) in one run",
        plan.len()
    ));
    let destination = out.join("ladder");
    let meter = Meter::start(ticks)?;
    let output = run_transcode(source, &probed, &plan, &destination).await?;
    let measured = meter.stop()?;
    let mut ladder = speed("transcode/ladder", seconds, &measured);
    ladder["renditions"] = json!(plan.iter().map(|r| r.name.clone()).collect::<Vec<_>>());
    ladder["ffmpeg_x_realtime"] = json!(round(output.x_realtime(), 3));
    ladder["wall_ratio_to_baseline"] = json!(round(measured.wall_s / baseline_wall, 2));
    ladder["note"] = json!("one ffmpeg: every rendition, loudnorm, HLS fMP4, poster, storyboard; then read back with ffprobe");
    results.push(ladder);
    results.push(baseline);
    std::fs::remove_dir_all(&out)?;
    Ok(results)
}

// ---------------------------------------------------------------------------------------------
// probe

/// What a probe of a file should say.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    Video,
    Truncated,
    NotMedia,
    NoVideo,
}

fn verdict(result: &Result<VideoProbe, ProbeError>) -> Option<Verdict> {
    match result {
        Ok(_) => Some(Verdict::Video),
        Err(ProbeError::Truncated { .. }) => Some(Verdict::Truncated),
        Err(ProbeError::NotMedia) => Some(Verdict::NotMedia),
        Err(ProbeError::NoVideoStream { .. }) => Some(Verdict::NoVideo),
        Err(_) => None,
    }
}

/// A probe's answer in a few words: what the file is, or why it is refused.
fn describe(result: &Result<VideoProbe, ProbeError>) -> String {
    match result {
        Ok(p) => {
            let audio = p
                .audio_codec
                .as_ref()
                .map_or(String::new(), |a| format!(" + {a}"));
            format!(
                "{} {}x{} {:.2} s {}{audio}",
                p.container, p.width, p.height, p.duration_seconds, p.video_codec
            )
        }
        Err(error) => error.to_string(),
    }
}

async fn make_probe_set(
    work: &Path,
    source: &Path,
) -> Result<Vec<(String, PathBuf, Verdict)>, Failure> {
    let dir = work.join("probe");
    std::fs::create_dir_all(&dir)?;
    let file = |name: &str| dir.join(name);
    let mut set = Vec::new();

    let talk = file("talk-720p-index-first.mp4");
    run(ffmpeg()
        .args(words("-v error -f lavfi -i"))
        .arg("testsrc2=size=1280x720:rate=30:duration=8")
        .args(words("-f lavfi -i"))
        .arg("sine=frequency=220:duration=8")
        .args(words(
            "-c:v libx264 -preset ultrafast -c:a aac -movflags +faststart",
        ))
        .arg(&talk))
    .await?;
    let tail = file("lecture-360p-index-last.mp4");
    run(ffmpeg()
        .args(words("-v error -f lavfi -i"))
        .arg("testsrc=size=640x360:rate=25:duration=90")
        .args(words("-f lavfi -i"))
        .arg("sine=frequency=330:duration=90")
        .args(words("-c:v libx264 -preset ultrafast -c:a aac"))
        .arg(&tail))
    .await?;
    let screen = file("screen-1080p-silent.mkv");
    run(ffmpeg()
        .args(words("-v error -f lavfi -i"))
        .arg("smptehdbars=size=1920x1080:rate=30:duration=4")
        .args(words("-c:v libx264 -preset ultrafast"))
        .arg(&screen))
    .await?;
    let webm = file("clip-360p.webm");
    run(ffmpeg()
        .args(words("-v error -f lavfi -i"))
        .arg("testsrc2=size=640x360:rate=25:duration=3")
        .args(words("-f lavfi -i"))
        .arg("sine=frequency=550:sample_rate=48000:duration=3")
        .args(words(
            "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 500k -c:a libopus",
        ))
        .arg(&webm))
    .await?;
    let mov = file("phone-portrait.mov");
    run(ffmpeg()
        .args(words("-v error -f lavfi -i"))
        .arg("testsrc2=size=720x1280:rate=30:duration=5")
        .args(words("-f lavfi -i"))
        .arg("sine=frequency=660:duration=5")
        .args(words("-c:v libx264 -preset ultrafast -c:a aac"))
        .arg(&mov))
    .await?;
    // Half the bytes of the index-first MP4: the header is whole, the data stops halfway.
    let truncated = file("talk-cut-at-half.mp4");
    let bytes = std::fs::read(&talk)?;
    std::fs::write(&truncated, &bytes[..bytes.len() / 2])?;
    let wav = file("voice.wav");
    run(ffmpeg()
        .args(words("-v error -f lavfi -i"))
        .arg("sine=frequency=440:duration=3")
        .arg(&wav))
    .await?;
    // Named like a video, as an upload claiming to be one would be.
    let text = file("notes-not-a-video.mp4");
    std::fs::write(
        &text,
        "Lecture notes: this is a text file, not a video.\n".repeat(200),
    )?;

    for (path, expected) in [
        (talk, Verdict::Video),
        (tail, Verdict::Video),
        (screen, Verdict::Video),
        (webm, Verdict::Video),
        (mov, Verdict::Video),
        (source.to_path_buf(), Verdict::Video),
        (truncated, Verdict::Truncated),
        (wav, Verdict::NoVideo),
        (text, Verdict::NotMedia),
    ] {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        set.push((name, path, expected));
    }
    Ok(set)
}

async fn bench_probe(
    work: &Path,
    source: &Path,
    rounds: usize,
    ticks: f64,
) -> Result<Vec<Value>, Failure> {
    progress("probe: making the files (mp4, mkv, webm, mov, truncated, wav, text)");
    let set = make_probe_set(work, source).await?;
    let options = ProbeOptions::default();
    // Warm-up: the files into the page cache, ffprobe's libraries into memory; verdicts checked.
    let mut files = Vec::new();
    for (name, path, expected) in &set {
        let result = probe(path, &options).await;
        let got = verdict(&result);
        if got != Some(*expected) {
            return Err(format!("probe of {name}: expected {expected:?}, got {result:?}").into());
        }
        files.push(json!({
            "file": name,
            "bytes": std::fs::metadata(path)?.len(),
            "verdict": format!("{expected:?}"),
            "summary": describe(&result),
        }));
    }

    progress(&format!("probe: {rounds} rounds over {} files", set.len()));
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); set.len()];
    let mut wrong = 0;
    let meter = Meter::start(ticks)?;
    for _ in 0..rounds {
        for (i, (_, path, expected)) in set.iter().enumerate() {
            let started = Instant::now();
            let result = probe(path, &options).await;
            samples[i].push(started.elapsed().as_secs_f64() * 1000.0);
            if verdict(&result) != Some(*expected) {
                wrong += 1;
            }
        }
    }
    let measured = meter.stop()?;
    let count = (rounds * set.len()) as f64;
    for (file, file_samples) in files.iter_mut().zip(&samples) {
        let summary = latency_summary(file_samples);
        file["p50_ms"] = summary["p50_ms"].clone();
        file["p99_ms"] = summary["p99_ms"].clone();
    }
    let all: Vec<f64> = samples.concat();
    let mut row = json!({ "name": "probe" });
    merge(&mut row, latency_summary(&all));
    row["wrong_verdicts"] = json!(wrong);
    row["cpu_ms_per_op"] = json!(round(measured.children_cpu_s * 1000.0 / count, 2));
    row["files"] = json!(files);
    row["note"] = json!(
        "coursegraph_video::probe::probe: header read + tail demux (two ffprobe runs) per file"
    );

    progress(&format!(
        "probe: baseline, {} spawns of ffprobe -version",
        all.len()
    ));
    let mut spawns = Vec::with_capacity(all.len());
    let meter = Meter::start(ticks)?;
    for _ in 0..all.len() {
        let started = Instant::now();
        let output = Command::new("ffprobe").arg("-version").output().await?;
        spawns.push(started.elapsed().as_secs_f64() * 1000.0);
        if !output.status.success() {
            return Err("ffprobe -version failed".into());
        }
    }
    let measured = meter.stop()?;
    let mut baseline = json!({ "name": "probe/baseline-ffprobe-version" });
    merge(&mut baseline, latency_summary(&spawns));
    baseline["cpu_ms_per_op"] = json!(round(
        measured.children_cpu_s * 1000.0 / spawns.len() as f64,
        2
    ));
    baseline["note"] = json!("the cost of starting ffprobe at all (one spawn; a probe makes two)");
    std::fs::remove_dir_all(work.join("probe"))?;
    Ok(vec![row, baseline])
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        target.extend(extra);
    }
}

// ---------------------------------------------------------------------------------------------
// upload

/// Lets everyone create and continue uploads: authorisation is not what is measured.
struct Everyone;

impl UploadAuthorizer for Everyone {
    async fn authorize_create(
        &self,
        _headers: &HeaderMap,
        _metadata: &Metadata,
    ) -> Result<String, AuthError> {
        Ok("bench".into())
    }

    async fn authorize_access(
        &self,
        _headers: &HeaderMap,
        _upload: &UploadInfo,
    ) -> Result<(), AuthError> {
        Ok(())
    }
}

/// The baseline handler: appends the request's body to one file and fsyncs it.
async fn append_body(State(file): State<Arc<PathBuf>>, body: Body) -> StatusCode {
    let written = async {
        let mut out = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&*file)
            .await?;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(std::io::Error::other)?;
            out.write_all(&chunk).await?;
        }
        out.sync_data().await
    };
    match written.await {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A minimal HTTP/1.1 client over one keep-alive connection: enough for tus, with the control
/// a real client lacks (stopping halfway through a body).
struct Client {
    stream: BufReader<TcpStream>,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn offset(&self) -> Result<u64, Failure> {
        Ok(self
            .header("upload-offset")
            .ok_or("no Upload-Offset in the answer")?
            .parse()?)
    }
}

impl Client {
    async fn connect(addr: SocketAddr) -> Result<Self, Failure> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    async fn send_head(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        length: usize,
    ) -> Result<(), Failure> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ntus-resumable: 1.0.0\r\ncontent-length: {length}\r\n"
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        self.stream.get_mut().write_all(head.as_bytes()).await?;
        Ok(())
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Response, Failure> {
        self.send_head(method, path, headers, body.len()).await?;
        self.stream.get_mut().write_all(body).await?;
        self.read_response(method == "HEAD").await
    }

    async fn read_response(&mut self, head_only: bool) -> Result<Response, Failure> {
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .ok_or("no status line")?
            .parse()?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err("the connection closed in the headers".into());
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let mut response = Response {
            status,
            headers,
            body: String::new(),
        };
        let length: usize = response
            .header("content-length")
            .map_or(Ok(0), str::parse)?;
        if !head_only && length > 0 {
            let mut body = vec![0_u8; length];
            self.stream.read_exact(&mut body).await?;
            response.body = String::from_utf8_lossy(&body).into_owned();
        }
        Ok(response)
    }
}

/// Deterministic, incompressible bytes that start like an MP4 (the router sniffs the first
/// bytes for a video container).
fn payload(bytes: usize) -> Vec<u8> {
    let mut data = vec![0_u8; bytes];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for chunk in data.chunks_mut(8) {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    let ftyp: [u8; 24] = *b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2";
    data[..24].copy_from_slice(&ftyp);
    data
}

/// `Upload-Checksum` for `bytes`.
fn checksum(bytes: &[u8]) -> String {
    format!("sha256 {}", STANDARD.encode(Sha256::digest(bytes)))
}

fn sha256_file(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().to_vec())
}

struct TusServer {
    addr: SocketAddr,
    completed: Arc<Mutex<Vec<CompletedUpload>>>,
}

impl TusServer {
    fn completed_path(&self, location: &str) -> Result<PathBuf, Failure> {
        let id = location.rsplit('/').next().unwrap_or_default();
        let completed = self.completed.lock().map_err(|_| "the completions lock")?;
        completed
            .iter()
            .find(|c| c.info.id.as_str() == id)
            .map(|c| c.path.clone())
            .ok_or_else(|| format!("upload {id} did not complete").into())
    }
}

async fn create_upload(client: &mut Client, length: usize) -> Result<String, Failure> {
    let metadata = format!(
        "filename {},filetype {}",
        STANDARD.encode("bench.mp4"),
        STANDARD.encode("video/mp4")
    );
    let created = client
        .send(
            "POST",
            "/uploads",
            &[
                ("upload-length", length.to_string()),
                ("upload-metadata", metadata),
            ],
            &[],
        )
        .await?;
    if created.status != 201 {
        return Err(format!(
            "creating an upload: HTTP {} {}",
            created.status, created.body
        )
        .into());
    }
    Ok(created
        .header("location")
        .ok_or("no Location in the answer")?
        .to_owned())
}

/// Sends `data[offset..]` in [`CHUNK_BYTES`] `PATCH`es with their precomputed digests.
async fn patch_from(
    client: &mut Client,
    location: &str,
    data: &[u8],
    digests: &[String],
    mut offset: usize,
) -> Result<(), Failure> {
    while offset < data.len() {
        if !offset.is_multiple_of(CHUNK_BYTES) {
            return Err(format!("offset {offset} is not on a chunk boundary").into());
        }
        let end = (offset + CHUNK_BYTES).min(data.len());
        let answer = client
            .send(
                "PATCH",
                location,
                &[
                    ("upload-offset", offset.to_string()),
                    ("content-type", tus::OFFSET_OCTET_STREAM.into()),
                    ("upload-checksum", digests[offset / CHUNK_BYTES].clone()),
                ],
                &data[offset..end],
            )
            .await?;
        if answer.status != 204 || answer.offset()? != end as u64 {
            return Err(
                format!("PATCH at {offset}: HTTP {} {}", answer.status, answer.body).into(),
            );
        }
        offset = end;
    }
    Ok(())
}

/// An upload cut off halfway through the `PATCH` that crosses 50 %, then resumed from `HEAD`'s
/// offset. The cut `PATCH` carries a checksum or not (then the server keeps what arrived).
async fn interrupted_upload(
    server: &TusServer,
    data: &[u8],
    digests: &[String],
    checksummed: bool,
) -> Result<Value, Failure> {
    let mut client = Client::connect(server.addr).await?;
    let location = create_upload(&mut client, data.len()).await?;
    let half = data.len() / 2;
    let cut_chunk = half / CHUNK_BYTES * CHUNK_BYTES;
    patch_from(&mut client, &location, &data[..cut_chunk], digests, 0).await?;
    // The cut PATCH announces its whole chunk and sends up to the 50 % mark, then the
    // connection is dropped.
    let end = (cut_chunk + CHUNK_BYTES).min(data.len());
    let mut headers = vec![
        ("upload-offset", cut_chunk.to_string()),
        ("content-type", tus::OFFSET_OCTET_STREAM.to_owned()),
    ];
    if checksummed {
        headers.push(("upload-checksum", digests[cut_chunk / CHUNK_BYTES].clone()));
    }
    client
        .send_head("PATCH", &location, &headers, end - cut_chunk)
        .await?;
    let sent_to = cut_chunk + (end - cut_chunk) / 2;
    client
        .stream
        .get_mut()
        .write_all(&data[cut_chunk..sent_to])
        .await?;
    // Half-closed rather than dropped, and the answer awaited: the server has then settled
    // the cut PATCH before the resume. (A client that resumes sooner can find its old request
    // still unread, get a HEAD offset that request then moves, and a 409 to HEAD again.)
    client.stream.get_mut().shutdown().await?;
    let cut_answer = client.read_response(false).await?;
    drop(client);

    let started = Instant::now();
    let mut client = Client::connect(server.addr).await?;
    let head = client.send("HEAD", &location, &[], &[]).await?;
    let head_ms = started.elapsed().as_secs_f64() * 1000.0;
    let offset = usize::try_from(head.offset()?)?;
    if offset > sent_to {
        return Err(format!("HEAD says {offset}, more than the {sent_to} bytes sent").into());
    }
    // Resume: the rest of the cut chunk when the server kept a part of it, then whole chunks.
    let mut resume_at = offset;
    if !offset.is_multiple_of(CHUNK_BYTES) {
        let chunk_end = (offset / CHUNK_BYTES + 1) * CHUNK_BYTES;
        let chunk_end = chunk_end.min(data.len());
        let answer = client
            .send(
                "PATCH",
                &location,
                &[
                    ("upload-offset", offset.to_string()),
                    ("content-type", tus::OFFSET_OCTET_STREAM.into()),
                    ("upload-checksum", checksum(&data[offset..chunk_end])),
                ],
                &data[offset..chunk_end],
            )
            .await?;
        if answer.status != 204 {
            return Err(format!(
                "resuming at {offset}: HTTP {} {}",
                answer.status, answer.body
            )
            .into());
        }
        resume_at = chunk_end;
    }
    patch_from(&mut client, &location, data, digests, resume_at).await?;
    let path = server.completed_path(&location)?;
    let same = sha256_file(&path)? == Sha256::digest(data).to_vec();
    std::fs::remove_file(&path)?;
    Ok(json!({
        "cut_patch_checksummed": checksummed,
        "cut_at_offset": sent_to,
        "cut_patch_started_at": cut_chunk,
        "cut_patch_answer": format!("{} {}", cut_answer.status, cut_answer.body.trim()),
        "head_offset": offset,
        "bytes_resent": sent_to - offset,
        "head_after_drop_ms": round(head_ms, 1),
        "resume_ok": same,
    }))
}

async fn bench_upload(work: &Path, megabytes: usize, ticks: f64) -> Result<Vec<Value>, Failure> {
    let dir = work.join("upload");
    std::fs::create_dir_all(&dir)?;
    let bytes = megabytes * MIB;
    progress(&format!(
        "upload: {megabytes} MiB payload, sha256 of each 8 MiB chunk (before timing)"
    ));
    let data = payload(bytes);
    let digests: Vec<String> = data.chunks(CHUNK_BYTES).map(checksum).collect();
    let source_digest = Sha256::digest(&data).to_vec();

    let storage = Arc::new(LocalStorage::open(dir.join("root")).await?);
    let completed = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&completed);
    let hook = move |upload: CompletedUpload| {
        if let Ok(mut done) = seen.lock() {
            done.push(upload);
        }
    };
    let posted = Arc::new(dir.join("posted.bin"));
    let app = Router::new()
        .nest(
            "/uploads",
            tus::router(
                storage,
                Arc::new(Everyone),
                Arc::new(hook),
                TusConfig {
                    max_size: bytes as u64,
                    location_prefix: "/uploads".into(),
                    ..TusConfig::default()
                },
            ),
        )
        .route("/post", post(append_body).with_state(Arc::clone(&posted)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server_task = tokio::spawn(async move { axum::serve(listener, app).await });
    let server = TusServer { addr, completed };
    let mb = megabytes as f64;
    let mut results = Vec::new();

    // Baseline 1: the disk, 8 MiB writes each followed by fsync.
    progress("upload: baseline, the same bytes to a file, fsync after every 8 MiB");
    let file_path = dir.join("direct.bin");
    let meter = Meter::start(ticks)?;
    {
        let data = &data;
        let path = file_path.clone();
        tokio::task::block_in_place(|| -> Result<(), Failure> {
            let mut file = std::fs::File::create(&path)?;
            for chunk in data.chunks(CHUNK_BYTES) {
                file.write_all(chunk)?;
                file.sync_data()?;
            }
            Ok(())
        })?;
    }
    let disk = meter.stop()?;
    std::fs::remove_file(&file_path)?;

    // Baseline 2: plain HTTP POSTs of 8 MiB to a handler that appends and fsyncs.
    progress("upload: baseline, 8 MiB POSTs to a handler that appends and fsyncs");
    let meter = Meter::start(ticks)?;
    let mut client = Client::connect(addr).await?;
    for chunk in data.chunks(CHUNK_BYTES) {
        let answer = client.send("POST", "/post", &[], chunk).await?;
        if answer.status != 204 {
            return Err(format!("POST: HTTP {} {}", answer.status, answer.body).into());
        }
    }
    let plain = meter.stop()?;
    drop(client);
    let posted_ok = sha256_file(&posted)? == source_digest;
    std::fs::remove_file(&*posted)?;

    // tus: creation, then 8 MiB PATCHes with sha256 checksums.
    progress(&format!(
        "upload: tus, {megabytes} MiB in {} PATCHes with sha256",
        digests.len()
    ));
    let meter = Meter::start(ticks)?;
    let mut client = Client::connect(addr).await?;
    let location = create_upload(&mut client, bytes).await?;
    patch_from(&mut client, &location, &data, &digests, 0).await?;
    let measured = meter.stop()?;
    drop(client);
    let path = server.completed_path(&location)?;
    let intact = sha256_file(&path)? == source_digest;
    std::fs::remove_file(&path)?;

    progress("upload: interrupted at 50 % (checksummed PATCH), resumed");
    let resumed_checksummed = interrupted_upload(&server, &data, &digests, true).await?;
    progress("upload: interrupted at 50 % (PATCH without checksum), resumed");
    let resumed_plain = interrupted_upload(&server, &data, &digests, false).await?;
    let resume_ok = resumed_checksummed["resume_ok"] == json!(true)
        && resumed_plain["resume_ok"] == json!(true);

    let rate = |m: &Measured| round(mb / m.wall_s, 1);
    let cpu = |m: &Measured| round(m.own_cpu_s * 1000.0 / mb, 2);
    results.push(json!({
        "name": "upload",
        "mb": megabytes,
        "patches": digests.len(),
        "wall_s": round(measured.wall_s, 2),
        "mb_per_s": rate(&measured),
        "cpu_ms_per_mb": cpu(&measured),
        "intact": intact,
        "resume_ok": resume_ok,
        "resume": [resumed_checksummed, resumed_plain],
        "ratio_to_disk": round(disk.wall_s / measured.wall_s, 2),
        "ratio_to_plain_post": round(plain.wall_s / measured.wall_s, 2),
        "note": "tus router over LocalStorage on 127.0.0.1, 8 MiB PATCHes with sha256 (digests computed before timing), one keep-alive connection; CPU = this process (server and client)",
    }));
    results.push(json!({
        "name": "upload/baseline-http-post",
        "mb": megabytes,
        "wall_s": round(plain.wall_s, 2),
        "mb_per_s": rate(&plain),
        "cpu_ms_per_mb": cpu(&plain),
        "intact": posted_ok,
        "note": "the same 8 MiB requests as plain POSTs to an axum handler that appends the body to a file and fsyncs",
    }));
    results.push(json!({
        "name": "upload/baseline-disk",
        "mb": megabytes,
        "wall_s": round(disk.wall_s, 2),
        "mb_per_s": rate(&disk),
        "cpu_ms_per_mb": cpu(&disk),
        "note": "the same bytes written to a file in 8 MiB writes, fsync (fdatasync) after each",
    }));
    server_task.abort();
    std::fs::remove_dir_all(&dir)?;
    Ok(results)
}

// ---------------------------------------------------------------------------------------------
// per-title

/// The SSIM (`All`) of `rendition` against `source` scaled to the rendition's size.
async fn ssim(rendition: &Path, source: &Path, width: u32, height: u32) -> Result<f64, Failure> {
    let graph = format!(
        "[1:v]scale={width}:{height}:flags=bicubic,setsar=1,format=yuv420p,setpts=PTS-STARTPTS[ref];\
         [0:v]setsar=1,format=yuv420p,setpts=PTS-STARTPTS[dist];[dist][ref]ssim"
    );
    let stderr = run(ffmpeg()
        .arg("-i")
        .arg(rendition)
        .arg("-i")
        .arg(source)
        .arg("-lavfi")
        .arg(&graph)
        .args(words("-f null -")))
    .await?;
    let value = stderr
        .lines()
        .rfind(|l| l.contains("SSIM") && l.contains("All:"))
        .and_then(|l| l.split("All:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or("no SSIM in ffmpeg's output")?;
    Ok(value.parse()?)
}

/// Transcodes `plan` and measures every rendition's bitrate and SSIM.
async fn ladder_quality(
    source: &Path,
    probed: &VideoProbe,
    plan: &[Rendition],
    destination: &Path,
) -> Result<Vec<(u64, f64)>, Failure> {
    let output = run_transcode(source, probed, plan, destination).await?;
    let mut rungs = Vec::new();
    for produced in &output.renditions {
        let playlist = destination.join(&produced.playlist);
        let quality = ssim(&playlist, source, produced.width, produced.height).await?;
        rungs.push((produced.bitrate, quality));
    }
    std::fs::remove_dir_all(destination)?;
    Ok(rungs)
}

async fn bench_per_title(work: &Path, seconds: u32, ticks: f64) -> Result<Vec<Value>, Failure> {
    let dir = work.join("per-title");
    std::fs::create_dir_all(&dir)?;
    let (w, h) = PER_TITLE_SIZE;
    // Slides: a title bar and three bullet lines whose text changes every 4 s.
    let line = |y: u32, size: u32, text: &str| {
        format!("drawtext=font='DejaVu Sans':fontsize={size}:fontcolor=0x222222:x=80:y={y}:text='{text}'")
    };
    let slides = format!(
        "color=c=0xf4f1ea:size={w}x{h}:rate=25:duration={seconds},\
         drawbox=x=0:y=0:w=iw:h=110:color=0x1f3a5f:t=fill,\
         drawtext=font='DejaVu Sans':fontsize=56:fontcolor=white:x=80:y=25:text='Lecture 3 - slide %{{eif\\:floor(t/4)+1\\:d}}',\
         {},{},{}",
        line(200, 40, "- point %{eif\\:floor(t/4)*3+1\\:d} - rates and ladders"),
        line(280, 40, "- point %{eif\\:floor(t/4)*3+2\\:d} - key frames every 2 s"),
        line(360, 40, "- point %{eif\\:floor(t/4)*3+3\\:d} - loudness at -16 LUFS"),
    );
    let noise = format!("testsrc2=size={w}x{h}:rate=25:duration={seconds},noise=alls=30:allf=t");
    let mut results = Vec::new();
    for (name, graph, what) in [
        (
            "slides",
            slides,
            "color + drawbox + drawtext, a new slide every 4 s (static in between)",
        ),
        (
            "noise",
            noise,
            "testsrc2 with temporal noise (noise=alls=30:allf=t)",
        ),
    ] {
        progress(&format!(
            "per-title: making the {name} source ({w}x{h}, {seconds} s, silent)"
        ));
        let source = dir.join(format!("{name}.mp4"));
        run(ffmpeg()
            .args(words("-v error -f lavfi -i"))
            .arg(&graph)
            .args(words(
                "-c:v libx264 -preset veryfast -crf 10 -pix_fmt yuv420p -g 50",
            ))
            .arg(&source))
        .await?;
        let probed = probe(&source, &ProbeOptions::default()).await?;
        let meter = Meter::start(ticks)?;
        let complexity =
            measure_complexity(&source, &probed, &ComplexityOptions::default()).await?;
        let measure_cost = meter.stop()?;
        let standard_plan = plan_ladder(&probed, &LadderOptions::default());
        let per_title_plan = plan_ladder(
            &probed,
            &LadderOptions {
                per_title: Some(complexity.clone()),
                ..LadderOptions::default()
            },
        );
        progress(&format!(
            "per-title: {name}: factor {:.3}; standard ladder ({} renditions), SSIM of each",
            complexity.factor,
            standard_plan.len()
        ));
        let standard = ladder_quality(
            &source,
            &probed,
            &standard_plan,
            &dir.join(format!("{name}-standard")),
        )
        .await?;
        let identical = standard_plan == per_title_plan;
        let per_title = if identical {
            // The same plan encodes the same way: nothing to compare.
            standard.clone()
        } else {
            progress(&format!(
                "per-title: {name}: per-title ladder, SSIM of each"
            ));
            ladder_quality(
                &source,
                &probed,
                &per_title_plan,
                &dir.join(format!("{name}-per-title")),
            )
            .await?
        };
        let rungs: Vec<Value> = standard_plan
            .iter()
            .zip(&per_title_plan)
            .zip(standard.iter().zip(&per_title))
            .map(|((s, p), ((s_bits, s_ssim), (p_bits, p_ssim)))| {
                json!({
                    "rung": s.name,
                    "size": format!("{}x{}", s.width, s.height),
                    "standard_planned_kbps": s.video_bitrate / 1000,
                    "per_title_planned_kbps": p.video_bitrate / 1000,
                    "standard_kbps": s_bits / 1000,
                    "per_title_kbps": p_bits / 1000,
                    "ssim_standard": round(*s_ssim, 5),
                    "ssim_per_title": round(*p_ssim, 5),
                })
            })
            .collect();
        let planned = |plan: &[Rendition]| plan.iter().map(|r| r.video_bitrate as f64).sum::<f64>();
        let standard_bits: u64 = standard.iter().map(|(b, _)| b).sum();
        let per_title_bits: u64 = per_title.iter().map(|(b, _)| b).sum();
        let mean = |v: &[(u64, f64)]| v.iter().map(|(_, q)| q).sum::<f64>() / v.len() as f64;
        let worst_drop = standard
            .iter()
            .zip(&per_title)
            .map(|((_, s), (_, p))| s - p)
            .fold(f64::NEG_INFINITY, f64::max);
        results.push(json!({
            "name": format!("per-title/{name}"),
            "content": what,
            "source": format!("{w}x{h} 25 fps, {seconds} s, no audio"),
            "complexity_factor": round(complexity.factor, 3),
            "complexity_bits_per_pixel": round(complexity.bits_per_pixel, 4),
            "complexity_sample_kbps": complexity.sample_bitrate / 1000,
            "complexity_measure_wall_s": round(measure_cost.wall_s, 2),
            "complexity_measure_cpu_s": round(measure_cost.children_cpu_s, 2),
            "plans_identical": identical,
            "standard_kbps": standard_bits / 1000,
            "per_title_kbps": per_title_bits / 1000,
            "bitrate_saved_pct": round(100.0 * (1.0 - per_title_bits as f64 / standard_bits as f64), 1),
            "planned_saved_pct": round(100.0 * (1.0 - planned(&per_title_plan) / planned(&standard_plan)), 1),
            "ssim_standard": round(mean(&standard), 5),
            "ssim_per_title": round(mean(&per_title), 5),
            "ssim_worst_rung_drop": round(worst_drop, 5),
            "equal_quality": worst_drop <= EQUAL_SSIM,
            "vmaf": Value::Null,
            "rungs": rungs,
        }));
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(results)
}
