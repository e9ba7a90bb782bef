//! The HLS encode: [`transcode`] runs ONE ffmpeg process that turns a source into every
//! rendition of a plan (from [`crate::ladder::plan_ladder`]), a master playlist, a poster and a
//! thumbnail storyboard, reporting progress and obeying a [`CancelToken`]; then it reads the
//! result back and moves it into place.
//!
//! # What is produced
//!
//! In the destination folder:
//!
//! ```text
//! master.m3u8                   the master playlist (one EXT-X-STREAM-INF per rendition)
//! <name>/index.m3u8             each rendition's media playlist (name = 240p, 360p, ...)
//! <name>/init_<i>.mp4           its fMP4 initialisation segment
//! <name>/seg_00000.m4s …        its 6-second media segments
//! poster.jpg                    the frame at 10 % of the duration, at the top rendition's size
//! storyboard.jpg                a sprite of thumbnails, one every N seconds, 10 to a row
//! storyboard.vtt                WebVTT cues mapping time ranges to `storyboard.jpg#xywh=x,y,w,h`
//! ```
//!
//! # Choices
//!
//! - **One process.** The source is decoded once and `split` to every rendition, the poster
//!   and the storyboard; each rendition's audio comes from one `asplit` of the normalised
//!   track. Each variant carries its own audio (`-var_stream_map "v:0,a:0 v:1,a:1 …"`), so a
//!   player switching renditions needs no separate audio group.
//! - **fMP4 segments** (`-hls_segment_type fmp4`) rather than MPEG-TS: Apple's authoring
//!   specification accepts both for H.264 but requires fMP4 for HEVC (§1.2, §1.5), fMP4
//!   carries less overhead than TS's 188-byte packets, and the same CMAF segments can serve
//!   DASH later.
//! - **Key frames exactly every 2 s**: `-force_key_frames expr:gte(t,n_forced*2)`, with
//!   `-g`/`-keyint_min` at the plan's GOP and `-sc_threshold 0` so x264 adds none at scene
//!   cuts; 6-second segments then always start on a key frame.
//! - **Loudness**: `loudnorm` (EBU R128 measurement) to **-16 LUFS** integrated, true peak
//!   -1.5 dBTP, range 11 LU, in one pass: -16 LUFS is the level recommended for streamed
//!   speech on laptops and phones (AES TD1004), where the broadcast level of -23 LUFS sounds
//!   too quiet next to other media. One pass (dynamic mode) avoids decoding the source twice.
//!   Output audio is AAC-LC stereo at 48 kHz.
//! - **x264**, preset [`TranscodeOptions::preset`] (`veryfast` by default: the platform runs
//!   on two cores), High profile, 4:2:0 8-bit, constrained VBR from the plan's average and
//!   peak with a 2-second buffer.
//!
//! # Nothing half-made
//!
//! ffmpeg writes into a fresh folder next to the destination, `.<name>.partial-<uuid>`.
//! Only when ffmpeg succeeded, its errors show no truncated source, and every rendition reads
//! back with its planned size and the source's duration, is that folder renamed to the
//! destination (an existing destination, from an earlier run, is replaced). A failure or a
//! cancellation removes the folder; a process killed outright leaves it, and the next
//! [`transcode`] to the same destination removes every `.<name>.partial-*` it finds first.
//! One transcode per destination at a time is the caller's rule (the job queue's).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::ladder::{Rendition, KEYFRAME_INTERVAL_SECONDS, SEGMENT_SECONDS};
use crate::probe::VideoProbe;

/// The master playlist's file name.
pub const MASTER_PLAYLIST: &str = "master.m3u8";
/// The poster's file name.
pub const POSTER: &str = "poster.jpg";
/// The storyboard sprite's file name.
pub const STORYBOARD_SPRITE: &str = "storyboard.jpg";
/// The storyboard's WebVTT file name.
pub const STORYBOARD_VTT: &str = "storyboard.vtt";
/// Where the poster is taken, as a fraction of the duration.
pub const POSTER_AT: f64 = 0.1;
/// Integrated loudness target, LUFS.
pub const LOUDNESS_TARGET_LUFS: f64 = -16.0;
/// True-peak ceiling, dBTP.
pub const TRUE_PEAK_DBTP: f64 = -1.5;
/// Loudness range target, LU.
pub const LOUDNESS_RANGE_LU: f64 = 11.0;
/// Output audio sample rate, Hz.
pub const AUDIO_SAMPLE_RATE: u32 = 48_000;
/// Storyboard thumbnails per row.
pub const STORYBOARD_COLUMNS: u32 = 10;
/// The most thumbnails a storyboard holds; the interval grows to stay within it.
pub const STORYBOARD_MAX_THUMBNAILS: u32 = 200;
/// A thumbnail's long side, pixels.
pub const THUMBNAIL_LONG_SIDE: u32 = 160;
/// How far a rendition's duration may differ from the source's, in seconds, unless two of
/// its frames are longer (audio and video rarely end on the same millisecond).
pub const DURATION_TOLERANCE_SECONDS: f64 = 0.5;
/// The most bytes of ffmpeg's error output kept for an error message.
const STDERR_TAIL_BYTES: usize = 8 * 1024;

/// How [`transcode`] runs.
#[derive(Debug, Clone)]
pub struct TranscodeOptions {
    /// The ffmpeg binary. Default `ffmpeg`.
    pub ffmpeg: PathBuf,
    /// The ffprobe binary, to read the result back. Default `ffprobe`.
    pub ffprobe: PathBuf,
    /// x264's preset. Default `veryfast`.
    pub preset: String,
    /// Seconds between storyboard thumbnails; `None` (the default) picks 2 s, or more for a
    /// source longer than [`STORYBOARD_MAX_THUMBNAILS`] × 2 s.
    pub storyboard_interval_seconds: Option<u32>,
    /// How long ffmpeg may go without encoding further before it is judged hung and killed.
    /// Default 120 s. (A total time limit would have to guess the length of the longest
    /// lecture; a stall is a hang whatever the length.)
    pub stall_timeout: Duration,
}

impl Default for TranscodeOptions {
    fn default() -> Self {
        Self {
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            preset: "veryfast".into(),
            storyboard_interval_seconds: None,
            stall_timeout: Duration::from_secs(120),
        }
    }
}

/// What to transcode, and where to.
#[derive(Debug, Clone, Copy)]
pub struct TranscodeRequest<'a> {
    /// The source file.
    pub source: &'a Path,
    /// Its probe (duration, size, audio), from [`crate::probe::probe`].
    pub probe: &'a VideoProbe,
    /// The renditions, from [`crate::ladder::plan_ladder`].
    pub renditions: &'a [Rendition],
    /// The folder to create (or replace) with the result. Its parent is created if missing.
    pub destination: &'a Path,
}

/// A handle that cancels a [`transcode`]: clone it, give one clone to the transcode, call
/// [`CancelToken::cancel`] on another. Cancelling kills ffmpeg and removes what it wrote.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<CancelState>);

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every transcode holding a clone of this token (now, or when it starts).
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Completes once the token is cancelled.
    pub async fn cancelled(&self) {
        loop {
            // Registered before the flag is read, so a cancel in between is not missed.
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// A rendition as produced and read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProducedRendition {
    /// Its name, e.g. `360p` (also its folder).
    pub name: String,
    /// Its media playlist, relative to the destination, e.g. `360p/index.m3u8`.
    pub playlist: String,
    /// Width in pixels, as read back.
    pub width: u32,
    /// Height in pixels, as read back.
    pub height: u32,
    /// Duration in seconds, as read back.
    pub duration_seconds: f64,
    /// Measured average bitrate in bits per second: the bytes of its init and media segments
    /// × 8 / its duration (audio included).
    pub bitrate: u64,
    /// The peak bitrate the master playlist declares (`BANDWIDTH`), bits per second.
    pub declared_bandwidth: Option<u64>,
    /// The codecs the master playlist declares (`CODECS`), e.g. `avc1.64001e,mp4a.40.2`.
    pub codecs: Option<String>,
    /// How many media segments it has.
    pub segment_count: u32,
}

/// The storyboard: a sprite of thumbnails and the WebVTT file that maps times to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Storyboard {
    /// The sprite, relative to the destination ([`STORYBOARD_SPRITE`]).
    pub sprite: String,
    /// The WebVTT map, relative to the destination ([`STORYBOARD_VTT`]).
    pub vtt: String,
    /// Seconds between thumbnails.
    pub interval_seconds: u32,
    /// How many thumbnails.
    pub count: u32,
    /// Thumbnails per row.
    pub columns: u32,
    /// Rows.
    pub rows: u32,
    /// A thumbnail's width, pixels.
    pub thumbnail_width: u32,
    /// A thumbnail's height, pixels.
    pub thumbnail_height: u32,
}

/// What [`transcode`] produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscodeOutput {
    /// The destination folder, now holding everything below.
    pub directory: PathBuf,
    /// The master playlist, relative to the destination ([`MASTER_PLAYLIST`]).
    pub master_playlist: String,
    /// The renditions, in the plan's order.
    pub renditions: Vec<ProducedRendition>,
    /// The poster, relative to the destination ([`POSTER`]).
    pub poster: String,
    /// The storyboard.
    pub storyboard: Storyboard,
    /// The source's duration in seconds, as probed.
    pub duration_seconds: f64,
    /// Wall-clock seconds the ffmpeg process ran.
    pub encode_seconds: f64,
}

impl TranscodeOutput {
    /// How many seconds of video were encoded per second of wall-clock time, for the whole
    /// ladder (above 1: faster than real time).
    pub fn x_realtime(&self) -> f64 {
        if self.encode_seconds > 0.0 {
            self.duration_seconds / self.encode_seconds
        } else {
            0.0
        }
    }
}

/// Why a transcode failed. In every case the destination is untouched and no partial folder
/// is left behind (except when the process itself is killed; see the module's documentation).
#[derive(Debug, Error)]
pub enum TranscodeError {
    /// The plan or destination cannot be used (no renditions, an odd size, a zero bitrate,
    /// a name that is not a plain folder name, a destination with no parent).
    #[error("the transcode request is invalid: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// The ffmpeg or ffprobe binary cannot be found (install Debian's `ffmpeg` package).
    #[error("`{tool}` cannot be run: it is not installed or not in PATH")]
    ToolMissing {
        /// The binary that was looked for.
        tool: PathBuf,
    },
    /// The [`CancelToken`] was cancelled.
    #[error("the transcode was cancelled")]
    Cancelled,
    /// ffmpeg encoded nothing further for [`TranscodeOptions::stall_timeout`] and was killed.
    #[error("ffmpeg made no progress for {seconds} s and was stopped")]
    Stalled {
        /// The stall timeout, in seconds.
        seconds: u64,
    },
    /// The source ends before its header says it does (an upload cut short).
    #[error("the source file is incomplete ({detail}); upload it again")]
    SourceTruncated {
        /// What showed it.
        detail: String,
    },
    /// ffmpeg failed.
    #[error("ffmpeg failed (exit status {status}): {detail}")]
    Failed {
        /// Its exit status, or `killed by a signal`.
        status: String,
        /// Its last error line.
        detail: String,
    },
    /// ffmpeg reported success but the result does not read back as planned (a missing
    /// rendition, a wrong size, a duration short of the source's).
    #[error("the transcoded result is incomplete: {reason}")]
    Incomplete {
        /// What is missing or wrong.
        reason: String,
    },
    /// A file or folder could not be created, read, renamed or removed.
    #[error("cannot {what} {path}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl TranscodeError {
    /// Whether running the same transcode again may succeed (the machine's trouble) rather
    /// than fail the same way (the source's or the request's).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Stalled { .. } | Self::Failed { .. } | Self::Io { .. } | Self::ToolMissing { .. }
        )
    }
}

/// Transcodes `request.source` into `request.destination` (see the module's documentation),
/// calling `progress` with the fraction done (0 to 1, never decreasing, 1 once at the end of
/// a success).
///
/// # Errors
/// [`TranscodeError`]; the destination is left as it was.
pub async fn transcode(
    request: &TranscodeRequest<'_>,
    options: &TranscodeOptions,
    mut progress: impl FnMut(f64) + Send,
    cancel: &CancelToken,
) -> Result<TranscodeOutput, TranscodeError> {
    validate(request)?;
    let destination = request.destination;
    let (parent, name) = split_destination(destination)?;
    tokio::fs::create_dir_all(&parent)
        .await
        .map_err(io("create", &parent))?;
    remove_stale(&parent, &name).await?;
    let source = tokio::fs::canonicalize(request.source)
        .await
        .map_err(io("open", request.source))?;

    let work = parent.join(format!(".{name}.partial-{}", uuid::Uuid::now_v7()));
    tokio::fs::create_dir(&work)
        .await
        .map_err(io("create", &work))?;
    let result = run_in(&work, &source, request, options, &mut progress, cancel).await;
    let output = match result {
        Ok(output) => output,
        Err(error) => {
            let _ = tokio::fs::remove_dir_all(&work).await;
            return Err(error);
        }
    };
    if cancel.is_cancelled() {
        let _ = tokio::fs::remove_dir_all(&work).await;
        return Err(TranscodeError::Cancelled);
    }
    if let Err(error) = move_into_place(&work, destination, &parent, &name).await {
        let _ = tokio::fs::remove_dir_all(&work).await;
        return Err(error);
    }
    progress(1.0);
    Ok(TranscodeOutput {
        directory: destination.to_path_buf(),
        ..output
    })
}

/// Checks the plan before anything is written.
fn validate(request: &TranscodeRequest<'_>) -> Result<(), TranscodeError> {
    let invalid = |reason: String| Err(TranscodeError::InvalidRequest { reason });
    if request.renditions.is_empty() {
        return invalid("the plan has no rendition".into());
    }
    let duration = request.probe.duration_seconds;
    if !duration.is_finite() || duration <= 0.0 {
        return invalid("the source's duration is not positive".into());
    }
    let mut names = std::collections::HashSet::new();
    for r in request.renditions {
        let plain = !r.name.is_empty()
            && r.name.len() <= 32
            && r.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !plain {
            return invalid(format!(
                "rendition name {:?} is not a plain folder name",
                r.name
            ));
        }
        if !names.insert(r.name.as_str()) {
            return invalid(format!("rendition name {} appears twice", r.name));
        }
        if r.width < 2 || r.height < 2 || r.width % 2 != 0 || r.height % 2 != 0 {
            return invalid(format!(
                "rendition {} has an odd or empty size {}x{}",
                r.name, r.width, r.height
            ));
        }
        if r.video_bitrate == 0 || r.video_max_bitrate < r.video_bitrate {
            return invalid(format!("rendition {} has no usable video bitrate", r.name));
        }
        if !(r.frame_rate > 0.0 && r.frame_rate.is_finite()) || r.gop_frames == 0 {
            return invalid(format!("rendition {} has no usable frame rate", r.name));
        }
        if r.audio_bitrate == Some(0) {
            return invalid(format!("rendition {} has an audio bitrate of zero", r.name));
        }
    }
    Ok(())
}

/// The destination's parent folder and its own name.
fn split_destination(destination: &Path) -> Result<(PathBuf, String), TranscodeError> {
    let name = destination
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.starts_with('.'))
        .ok_or_else(|| TranscodeError::InvalidRequest {
            reason: format!(
                "destination {} has no plain folder name",
                destination.display()
            ),
        })?;
    let parent = match destination.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_owned()))
}

/// Removes what an earlier run for the same destination left: partial folders of a killed
/// run and a replaced destination that was not removed.
async fn remove_stale(parent: &Path, name: &str) -> Result<(), TranscodeError> {
    let partial = format!(".{name}.partial-");
    let old = format!(".{name}.old-");
    let mut entries = tokio::fs::read_dir(parent)
        .await
        .map_err(io("read", parent))?;
    while let Some(entry) = entries.next_entry().await.map_err(io("read", parent))? {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if file_name.starts_with(&partial) || file_name.starts_with(&old) {
            let path = entry.path();
            tokio::fs::remove_dir_all(&path)
                .await
                .map_err(io("remove", &path))?;
        }
    }
    Ok(())
}

/// Renames `work` to `destination`, replacing an existing destination.
async fn move_into_place(
    work: &Path,
    destination: &Path,
    parent: &Path,
    name: &str,
) -> Result<(), TranscodeError> {
    let existing = tokio::fs::symlink_metadata(destination).await.is_ok();
    if !existing {
        return tokio::fs::rename(work, destination)
            .await
            .map_err(io("rename into place", destination));
    }
    // A folder cannot be renamed over a non-empty one: move the old one aside first. The
    // window without a destination is two renames long.
    let aside = parent.join(format!(".{name}.old-{}", uuid::Uuid::now_v7()));
    tokio::fs::rename(destination, &aside)
        .await
        .map_err(io("move aside", destination))?;
    if let Err(error) = tokio::fs::rename(work, destination).await {
        let _ = tokio::fs::rename(&aside, destination).await;
        return Err(io("rename into place", destination)(error));
    }
    // Best effort: a leftover is removed by the next run's clean-up.
    let _ = tokio::fs::remove_dir_all(&aside).await;
    Ok(())
}

/// An `io::Error` mapper for [`TranscodeError::Io`].
fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> TranscodeError {
    let path = path.to_path_buf();
    move |source| TranscodeError::Io { what, path, source }
}

/// The storyboard's layout for a duration and display size.
fn storyboard_layout(probe: &VideoProbe, interval: Option<u32>) -> Storyboard {
    let duration = probe.duration_seconds;
    let min_interval = (duration / f64::from(STORYBOARD_MAX_THUMBNAILS))
        .ceil()
        .max(1.0) as u32;
    let interval = interval.unwrap_or(2).max(min_interval).max(1);
    let count =
        ((duration / f64::from(interval)).ceil() as u32).clamp(1, STORYBOARD_MAX_THUMBNAILS);
    let columns = count.min(STORYBOARD_COLUMNS);
    let rows = count.div_ceil(columns);
    let (w, h) = (
        f64::from(probe.display_width.max(2)),
        f64::from(probe.display_height.max(2)),
    );
    let long = f64::from(THUMBNAIL_LONG_SIDE);
    let even = |v: f64| (((v / 2.0).round() * 2.0) as u32).max(2);
    let (thumbnail_width, thumbnail_height) = if w >= h {
        (THUMBNAIL_LONG_SIDE, even(long * h / w))
    } else {
        (even(long * w / h), THUMBNAIL_LONG_SIDE)
    };
    Storyboard {
        sprite: STORYBOARD_SPRITE.into(),
        vtt: STORYBOARD_VTT.into(),
        interval_seconds: interval,
        count,
        columns,
        rows,
        thumbnail_width,
        thumbnail_height,
    }
}

/// The storyboard's WebVTT: one cue per thumbnail, from its time to the next one's (the last
/// to the end of the video), pointing at its tile in the sprite (W3C media fragments).
pub fn storyboard_vtt(storyboard: &Storyboard, duration_seconds: f64) -> String {
    let mut vtt = String::from("WEBVTT\n");
    for i in 0..storyboard.count {
        let start = f64::from(i * storyboard.interval_seconds);
        let end = (f64::from((i + 1) * storyboard.interval_seconds)).min(duration_seconds);
        if end <= start {
            break;
        }
        let x = (i % storyboard.columns) * storyboard.thumbnail_width;
        let y = (i / storyboard.columns) * storyboard.thumbnail_height;
        vtt.push_str(&format!(
            "\n{} --> {}\n{}#xywh={x},{y},{},{}\n",
            vtt_time(start),
            vtt_time(end),
            storyboard.sprite,
            storyboard.thumbnail_width,
            storyboard.thumbnail_height
        ));
    }
    vtt
}

/// `hh:mm:ss.mmm`.
fn vtt_time(seconds: f64) -> String {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000
    )
}

/// The ffmpeg arguments that produce everything into the current folder.
fn ffmpeg_args(
    source: &Path,
    request: &TranscodeRequest<'_>,
    options: &TranscodeOptions,
    storyboard: &Storyboard,
) -> Vec<std::ffi::OsString> {
    let renditions = request.renditions;
    let probe = request.probe;
    let has_audio =
        probe.audio_codec.is_some() && renditions.iter().all(|r| r.audio_bitrate.is_some());
    let n = renditions.len();
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    push(
        &mut args,
        &["-nostdin", "-hide_banner", "-v", "error", "-nostats"],
    );
    push(&mut args, &["-progress", "pipe:1", "-stats_period", "0.5"]);
    push(&mut args, &["-protocol_whitelist", "file", "-i"]);
    args.push(crate::probe::file_url(source));

    // The filter graph: one decode, split to every output.
    let mut graph = format!("[0:v:0]split={}", n + 2);
    for i in 0..n {
        graph.push_str(&format!("[s{i}]"));
    }
    graph.push_str("[sposter][sboard]");
    for (i, r) in renditions.iter().enumerate() {
        let fps = if (r.frame_rate - probe.frame_rate).abs() > 0.01 {
            format!("fps={:.6},", r.frame_rate)
        } else {
            String::new()
        };
        graph.push_str(&format!(
            ";[s{i}]{fps}scale={}:{}:flags=bicubic,setsar=1,format=yuv420p[v{i}]",
            r.width, r.height
        ));
    }
    let top = &renditions[n - 1];
    let poster_at = probe.duration_seconds * POSTER_AT;
    graph.push_str(&format!(
        ";[sposter]trim=start={poster_at:.3},trim=end_frame=1,scale={}:{}:flags=bicubic,setsar=1[poster]",
        top.width, top.height
    ));
    // The tile's frame lasts `count × interval` at its own frame rate; a zero timestamp and
    // `-r 30` on its output keep ffmpeg's progress (the furthest output time) on the video.
    graph.push_str(&format!(
        ";[sboard]fps=1/{},scale={}:{}:flags=bicubic,setsar=1,trim=end_frame={},tile={}x{},setpts=0[board]",
        storyboard.interval_seconds,
        storyboard.thumbnail_width,
        storyboard.thumbnail_height,
        storyboard.count,
        storyboard.columns,
        storyboard.rows
    ));
    if has_audio {
        graph.push_str(&format!(
            ";[0:a:0]loudnorm=I={LOUDNESS_TARGET_LUFS}:TP={TRUE_PEAK_DBTP}:LRA={LOUDNESS_RANGE_LU},aresample={AUDIO_SAMPLE_RATE},asplit={n}"
        ));
        for i in 0..n {
            graph.push_str(&format!("[a{i}]"));
        }
    }
    push(&mut args, &["-filter_complex", &graph]);

    // The HLS output: every rendition.
    for i in 0..n {
        push(&mut args, &["-map", &format!("[v{i}]")]);
        if has_audio {
            push(&mut args, &["-map", &format!("[a{i}]")]);
        }
    }
    push(
        &mut args,
        &[
            "-c:v",
            "libx264",
            "-preset",
            &options.preset,
            "-profile:v",
            "high",
        ],
    );
    push(&mut args, &["-sc_threshold", "0"]);
    push(
        &mut args,
        &[
            "-force_key_frames",
            &format!("expr:gte(t,n_forced*{KEYFRAME_INTERVAL_SECONDS})"),
        ],
    );
    for (i, r) in renditions.iter().enumerate() {
        push(
            &mut args,
            &[&format!("-b:v:{i}"), &r.video_bitrate.to_string()],
        );
        push(
            &mut args,
            &[&format!("-maxrate:v:{i}"), &r.video_max_bitrate.to_string()],
        );
        // A buffer of two seconds at the average rate.
        push(
            &mut args,
            &[
                &format!("-bufsize:v:{i}"),
                &(r.video_bitrate * 2).to_string(),
            ],
        );
        push(
            &mut args,
            &[&format!("-g:v:{i}"), &r.gop_frames.to_string()],
        );
        push(
            &mut args,
            &[&format!("-keyint_min:v:{i}"), &r.gop_frames.to_string()],
        );
        if let (true, Some(audio)) = (has_audio, r.audio_bitrate) {
            push(&mut args, &[&format!("-b:a:{i}"), &audio.to_string()]);
        }
    }
    if has_audio {
        push(
            &mut args,
            &[
                "-c:a",
                "aac",
                "-ac",
                "2",
                "-ar",
                &AUDIO_SAMPLE_RATE.to_string(),
            ],
        );
    }
    let map: Vec<String> = renditions
        .iter()
        .enumerate()
        .map(|(i, r)| match has_audio {
            true => format!("v:{i},a:{i},name:{}", r.name),
            false => format!("v:{i},name:{}", r.name),
        })
        .collect();
    push(
        &mut args,
        &["-f", "hls", "-hls_time", &SEGMENT_SECONDS.to_string()],
    );
    push(
        &mut args,
        &["-hls_playlist_type", "vod", "-hls_segment_type", "fmp4"],
    );
    push(&mut args, &["-hls_flags", "independent_segments"]);
    push(&mut args, &["-hls_fmp4_init_filename", "init.mp4"]);
    push(&mut args, &["-hls_segment_filename", "%v/seg_%05d.m4s"]);
    push(&mut args, &["-master_pl_name", MASTER_PLAYLIST]);
    push(&mut args, &["-var_stream_map", &map.join(" ")]);
    push(&mut args, &["%v/index.m3u8"]);

    // The poster and the storyboard sprite: one frame each.
    push(
        &mut args,
        &[
            "-map",
            "[poster]",
            "-frames:v",
            "1",
            "-update",
            "1",
            "-q:v",
            "3",
            POSTER,
        ],
    );
    push(
        &mut args,
        &[
            "-map",
            "[board]",
            "-frames:v",
            "1",
            "-update",
            "1",
            "-r",
            "30",
            "-q:v",
            "4",
            STORYBOARD_SPRITE,
        ],
    );
    args
}

/// Appends `items` to `args`.
fn push(args: &mut Vec<std::ffi::OsString>, items: &[&str]) {
    args.extend(items.iter().map(Into::into));
}

/// Runs ffmpeg in `work`, then checks what it wrote.
async fn run_in(
    work: &Path,
    source: &Path,
    request: &TranscodeRequest<'_>,
    options: &TranscodeOptions,
    progress: &mut (impl FnMut(f64) + Send),
    cancel: &CancelToken,
) -> Result<TranscodeOutput, TranscodeError> {
    let storyboard = storyboard_layout(request.probe, options.storyboard_interval_seconds);
    let args = ffmpeg_args(source, request, options, &storyboard);
    let started = Instant::now();
    let mut child = Command::new(&options.ffmpeg)
        .args(&args)
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| spawn_error(e, &options.ffmpeg))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    // Drained all along, so a chatty ffmpeg never blocks on a full pipe.
    let stderr_task = tokio::spawn(async move {
        let mut tail = String::new();
        let Some(mut stderr) = stderr else {
            return tail;
        };
        let mut buffer = vec![0_u8; 4096];
        while let Ok(n) = stderr.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            tail.push_str(&String::from_utf8_lossy(&buffer[..n]));
            if tail.len() > STDERR_TAIL_BYTES * 2 {
                let cut = tail.len() - STDERR_TAIL_BYTES;
                let cut = (cut..tail.len())
                    .find(|&i| tail.is_char_boundary(i))
                    .unwrap_or(0);
                tail.drain(..cut);
            }
        }
        tail
    });

    let duration_us = request.probe.duration_seconds * 1_000_000.0;
    let mut reported = 0.0_f64;
    let mut furthest: i64 = -1;
    let mut last_advance = Instant::now();
    if let Some(stdout) = stdout {
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let deadline = last_advance + options.stall_timeout;
            tokio::select! {
                // A cancel wins over a line that is ready at the same time.
                biased;
                () = cancel.cancelled() => {
                    kill(&mut child).await;
                    return Err(TranscodeError::Cancelled);
                }
                line = tokio::time::timeout_at(deadline, lines.next_line()) => match line {
                    Err(_) => {
                        kill(&mut child).await;
                        return Err(stalled(options));
                    }
                    Ok(Ok(Some(line))) => {
                        let Some(value) = line.strip_prefix("out_time_us=") else { continue };
                        let Ok(us) = value.trim().parse::<i64>() else { continue };
                        if us > furthest {
                            furthest = us;
                            last_advance = Instant::now();
                            let fraction = (us as f64 / duration_us).clamp(0.0, 1.0);
                            // 1 is kept for the end of a success.
                            let fraction = fraction.min(0.999);
                            if fraction > reported {
                                reported = fraction;
                                progress(fraction);
                            }
                        }
                    }
                    Ok(Ok(None)) => break,
                    Ok(Err(source)) => {
                        kill(&mut child).await;
                        return Err(TranscodeError::Io { what: "read ffmpeg's progress", path: work.into(), source });
                    }
                }
            }
        }
    }
    let status = tokio::select! {
        biased;
        () = cancel.cancelled() => {
            kill(&mut child).await;
            return Err(TranscodeError::Cancelled);
        }
        () = tokio::time::sleep(options.stall_timeout) => {
            kill(&mut child).await;
            return Err(stalled(options));
        }
        status = child.wait() => status.map_err(|source| TranscodeError::Io { what: "wait for ffmpeg in", path: work.into(), source })?,
    };
    let encode_seconds = started.elapsed().as_secs_f64();
    let stderr = stderr_task.await.unwrap_or_default();
    if let Some(detail) = truncation_sign(&stderr) {
        return Err(TranscodeError::SourceTruncated { detail });
    }
    if !status.success() {
        return Err(TranscodeError::Failed {
            status: status
                .code()
                .map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string()),
            detail: crate::probe::last_line(&stderr),
        });
    }

    tokio::fs::write(
        work.join(STORYBOARD_VTT),
        storyboard_vtt(&storyboard, request.probe.duration_seconds),
    )
    .await
    .map_err(io("write", &work.join(STORYBOARD_VTT)))?;
    let renditions = read_back(work, request, options).await?;
    for file in [POSTER, STORYBOARD_SPRITE] {
        let size = tokio::fs::metadata(work.join(file))
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        if size == 0 {
            return Err(TranscodeError::Incomplete {
                reason: format!("{file} was not written"),
            });
        }
    }
    Ok(TranscodeOutput {
        directory: work.to_path_buf(),
        master_playlist: MASTER_PLAYLIST.into(),
        renditions,
        poster: POSTER.into(),
        storyboard,
        duration_seconds: request.probe.duration_seconds,
        encode_seconds,
    })
}

fn spawn_error(error: std::io::Error, tool: &Path) -> TranscodeError {
    if error.kind() == std::io::ErrorKind::NotFound {
        TranscodeError::ToolMissing { tool: tool.into() }
    } else {
        TranscodeError::Io {
            what: "run",
            path: tool.into(),
            source: error,
        }
    }
}

fn stalled(options: &TranscodeOptions) -> TranscodeError {
    TranscodeError::Stalled {
        seconds: options.stall_timeout.as_secs().max(1),
    }
}

/// Kills ffmpeg and reaps it.
async fn kill(child: &mut Child) {
    let _ = child.kill().await;
}

/// What in ffmpeg's errors shows a source cut short, if anything. ffmpeg often exits with
/// success on such a source, having encoded what there was.
fn truncation_sign(stderr: &str) -> Option<String> {
    let signs = [
        (
            "partial file",
            "its data stops before the end its index announces",
        ),
        ("ended prematurely", "it ends before its last cluster"),
        ("moov atom not found", "its MP4 index is missing"),
    ];
    signs
        .iter()
        .find(|(sign, _)| stderr.contains(sign))
        .map(|(_, detail)| (*detail).to_owned())
}

/// Reads every rendition back with ffprobe and checks it against the plan and the source.
async fn read_back(
    work: &Path,
    request: &TranscodeRequest<'_>,
    options: &TranscodeOptions,
) -> Result<Vec<ProducedRendition>, TranscodeError> {
    let master_path = work.join(MASTER_PLAYLIST);
    let master =
        tokio::fs::read_to_string(&master_path)
            .await
            .map_err(|_| TranscodeError::Incomplete {
                reason: "the master playlist was not written".into(),
            })?;
    let declared = parse_master(&master);
    let mut produced = Vec::with_capacity(request.renditions.len());
    for r in request.renditions {
        let playlist = format!("{}/index.m3u8", r.name);
        let Some(entry) = declared.iter().find(|d| d.uri == playlist) else {
            return Err(TranscodeError::Incomplete {
                reason: format!("the master playlist does not list {playlist}"),
            });
        };
        let (width, height, duration) = probe_rendition(&work.join(&playlist), options).await?;
        if (width, height) != (r.width, r.height) {
            return Err(TranscodeError::Incomplete {
                reason: format!(
                    "{} is {width}x{height}, planned {}x{}",
                    r.name, r.width, r.height
                ),
            });
        }
        let tolerance = DURATION_TOLERANCE_SECONDS.max(2.0 / r.frame_rate);
        if (duration - request.probe.duration_seconds).abs() > tolerance {
            return Err(TranscodeError::Incomplete {
                reason: format!(
                    "{} lasts {duration:.2} s, the source {:.2} s",
                    r.name, request.probe.duration_seconds
                ),
            });
        }
        let (bytes, segments) = rendition_bytes(work, &r.name).await?;
        produced.push(ProducedRendition {
            name: r.name.clone(),
            playlist,
            width,
            height,
            duration_seconds: duration,
            bitrate: (bytes as f64 * 8.0 / duration.max(0.001)).round() as u64,
            declared_bandwidth: entry.bandwidth,
            codecs: entry.codecs.clone(),
            segment_count: segments,
        });
    }
    Ok(produced)
}

/// One `EXT-X-STREAM-INF` of a master playlist.
struct MasterEntry {
    uri: String,
    bandwidth: Option<u64>,
    codecs: Option<String>,
}

/// The variants a master playlist lists (what this module's ffmpeg writes: each
/// `EXT-X-STREAM-INF` followed by its URI on the next non-empty line).
fn parse_master(text: &str) -> Vec<MasterEntry> {
    let mut entries = Vec::new();
    let mut pending: Option<(Option<u64>, Option<String>)> = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(attributes) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            let bandwidth = attribute(attributes, "BANDWIDTH").and_then(|b| b.parse().ok());
            let codecs = attribute(attributes, "CODECS");
            pending = Some((bandwidth, codecs));
        } else if !line.starts_with('#') {
            if let Some((bandwidth, codecs)) = pending.take() {
                entries.push(MasterEntry {
                    uri: line.to_owned(),
                    bandwidth,
                    codecs,
                });
            }
        }
    }
    entries
}

/// The value of `name` in an HLS attribute list, without quotes.
fn attribute(list: &str, name: &str) -> Option<String> {
    let mut rest = list;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let (value, tail) = quoted.split_once('"')?;
            (value, tail.strip_prefix(',').unwrap_or(tail))
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        if key.trim() == name {
            return Some(value.to_owned());
        }
        rest = next;
    }
    None
}

/// Width, height and duration of a rendition's playlist, as ffprobe reads it.
async fn probe_rendition(
    playlist: &Path,
    options: &TranscodeOptions,
) -> Result<(u32, u32, f64), TranscodeError> {
    #[derive(Deserialize)]
    struct Out {
        #[serde(default)]
        streams: Vec<Stream>,
        format: Option<Format>,
    }
    #[derive(Deserialize)]
    struct Stream {
        codec_type: Option<String>,
        width: Option<u32>,
        height: Option<u32>,
    }
    #[derive(Deserialize)]
    struct Format {
        duration: Option<String>,
    }
    let output = Command::new(&options.ffprobe)
        .args([
            "-v",
            "error",
            "-hide_banner",
            "-format_whitelist",
            "hls,mov",
        ])
        .args(["-protocol_whitelist", "file", "-print_format", "json"])
        .args([
            "-show_entries",
            "format=duration:stream=codec_type,width,height",
        ])
        .arg(crate::probe::file_url(playlist))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(options.stall_timeout, output)
        .await
        .map_err(|_| stalled(options))?
        .map_err(|e| spawn_error(e, &options.ffprobe))?;
    let unreadable = |why: String| TranscodeError::Incomplete {
        reason: format!("{} does not read back: {why}", playlist.display()),
    };
    if !output.status.success() {
        return Err(unreadable(crate::probe::last_line(
            &String::from_utf8_lossy(&output.stderr),
        )));
    }
    let parsed: Out =
        serde_json::from_slice(&output.stdout).map_err(|e| unreadable(e.to_string()))?;
    let video = parsed
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video"))
        .ok_or_else(|| unreadable("no video stream".into()))?;
    let duration = parsed
        .format
        .and_then(|f| f.duration)
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite())
        .ok_or_else(|| unreadable("no duration".into()))?;
    Ok((
        video.width.unwrap_or(0),
        video.height.unwrap_or(0),
        duration,
    ))
}

/// The bytes of a rendition's folder (init and media segments) and its media segment count.
async fn rendition_bytes(work: &Path, name: &str) -> Result<(u64, u32), TranscodeError> {
    let folder = work.join(name);
    let mut entries = tokio::fs::read_dir(&folder)
        .await
        .map_err(io("read", &folder))?;
    let (mut bytes, mut segments) = (0_u64, 0_u32);
    while let Some(entry) = entries.next_entry().await.map_err(io("read", &folder))? {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let is_media = file_name.ends_with(".m4s");
        if is_media || file_name.ends_with(".mp4") {
            bytes += entry
                .metadata()
                .await
                .map_err(io("read", &entry.path()))?
                .len();
            segments += u32::from(is_media);
        }
    }
    Ok((bytes, segments))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(duration: f64, width: u32, height: u32) -> VideoProbe {
        VideoProbe {
            container: "mov,mp4,m4a,3gp,3g2,mj2".into(),
            duration_seconds: duration,
            start_seconds: 0.0,
            width,
            height,
            rotation: 0,
            display_width: width,
            display_height: height,
            video_codec: "h264".into(),
            pixel_format: None,
            frame_rate: 30.0,
            bitrate: 1,
            video_bitrate: None,
            audio_codec: None,
            audio_channels: None,
            audio_sample_rate: None,
            size_bytes: 1,
        }
    }

    #[test]
    fn the_storyboard_covers_the_video_in_a_grid() {
        let board = storyboard_layout(&probe(25.0, 1280, 720), None);
        assert_eq!(
            (
                board.interval_seconds,
                board.count,
                board.columns,
                board.rows
            ),
            (2, 13, 10, 2)
        );
        assert_eq!((board.thumbnail_width, board.thumbnail_height), (160, 90));
        let vtt = storyboard_vtt(&board, 25.0);
        assert!(vtt.starts_with(
            "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg#xywh=0,0,160,90\n"
        ));
        // The 11th thumbnail starts the second row; the last cue ends at the video's end.
        assert!(vtt.contains("\n00:00:20.000 --> 00:00:22.000\nstoryboard.jpg#xywh=0,90,160,90\n"));
        assert!(
            vtt.ends_with("\n00:00:24.000 --> 00:00:25.000\nstoryboard.jpg#xywh=320,90,160,90\n")
        );
        assert_eq!(vtt.matches(" --> ").count(), 13);

        // A two-hour lecture: the interval grows to keep 200 thumbnails at most.
        let long = storyboard_layout(&probe(7200.0, 1080, 1920), Some(2));
        assert_eq!(
            (long.interval_seconds, long.count, long.rows),
            (36, 200, 20)
        );
        assert_eq!((long.thumbnail_width, long.thumbnail_height), (90, 160));
        assert_eq!(vtt_time(3723.4567), "01:02:03.457");
    }

    #[test]
    fn master_playlists_are_read_for_their_variants() {
        let master = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=270600,RESOLUTION=426x240,CODECS=\"avc1.640015,mp4a.40.2\"\n240p/index.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=507100,RESOLUTION=640x360\n360p/index.m3u8\n";
        let entries = parse_master(master);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].uri, "240p/index.m3u8");
        assert_eq!(entries[0].bandwidth, Some(270_600));
        assert_eq!(entries[0].codecs.as_deref(), Some("avc1.640015,mp4a.40.2"));
        assert_eq!(entries[1].codecs, None);
        assert_eq!(attribute("A=1,B=\"x,y\",C=3", "C").as_deref(), Some("3"));
    }

    #[tokio::test]
    async fn a_token_cancelled_before_waiting_is_seen() {
        let token = CancelToken::new();
        let clone = token.clone();
        token.cancel();
        clone.cancelled().await;
        assert!(clone.is_cancelled());
    }
}
