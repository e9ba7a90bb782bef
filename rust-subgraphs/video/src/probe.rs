//! What an uploaded file is: [`probe`] runs Debian's `ffprobe` on it and returns a
//! [`VideoProbe`] (size, codecs, duration, frame rate, bitrate, rotation, audio), or a
//! [`ProbeError`] that says, in words a person can act on, why the file cannot become a video.
//!
//! # How a file is judged
//!
//! 1. It must be a regular file (not a folder, a FIFO or a device, which could block a reader
//!    forever).
//! 2. `ffprobe -v error -print_format json -show_format -show_streams` reads its header, with
//!    only the demuxers of [`ACCEPTED_DEMUXERS`] allowed (`-format_whitelist`) and only local
//!    files (`-protocol_whitelist file`): an uploaded HLS playlist or `concat` list would
//!    otherwise make FFmpeg open other files or URLs named inside it. `-count_frames` is not
//!    used: it decodes the whole file.
//! 3. It must have a video stream that is a moving picture: a still image (PNG, JPEG, GIF) or
//!    cover art attached to an audio file is not one.
//! 4. **Truncation.** A file cut short (an upload that stopped at 50 %) often still has an
//!    intact header: an MP4 written with its index first (`faststart`), a Matroska file whose
//!    duration was written at the start. ffprobe then reports the full duration. So the probe
//!    also demuxes (reads packets, no decoding) the last [`TAIL_SECONDS`] of the file with
//!    `-read_intervals` and requires the packets to reach the announced end. This is sound
//!    for any container (the comparison is with the timestamps the file itself announces),
//!    cheap (a seek and a few seconds of packets, whatever the file's length), and also
//!    catches the demuxer's own reports (`partial file`, `File ended prematurely`). The
//!    alternative of decoding the end (`ffmpeg -sseof -1 … -f null -`) costs a decode and
//!    still needs the end timestamp compared, and the container's stored size is not
//!    recorded by most formats. An MP4 whose index was at the end and was cut off (`moov atom
//!    not found`) is reported as truncated too. Corruption in the middle of a file that
//!    demuxes is not detected here; the transcode reports it.
//!
//! The figures are what the file declares (no frame is decoded), so probing takes two short
//! ffprobe runs whatever the file's length. [`ProbeOptions::timeout`] bounds each run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::process::Command;

/// The FFmpeg demuxers a file may be read with, as given to `-format_whitelist`: the
/// containers of camera, phone and screen-recorder video, plus the audio and image demuxers
/// so that such files are named for what they are ([`ProbeError::NoVideoStream`]) rather
/// than refused as unknown. Playlist and list demuxers (`hls`, `concat`, `dash`, ...) are
/// not here: they open other files.
pub const ACCEPTED_DEMUXERS: &str = "mov,matroska,avi,mpegts,mpeg,flv,asf,ogg,wav,mp3,flac,aac,\
                                     png_pipe,jpeg_pipe,webp_pipe,bmp_pipe,gif";

/// How many seconds at the end of a file are demuxed to check that it is complete.
pub const TAIL_SECONDS: f64 = 3.0;

/// How far short of the announced end the last packet may stop (seconds) before the file is
/// judged truncated, unless two frame periods are longer. Containers round durations and an
/// audio track may end a few hundred milliseconds after the last video frame.
pub const TRUNCATION_TOLERANCE_SECONDS: f64 = 0.5;

/// The largest width or height accepted, in pixels (H.264 and HEVC stop at 8192).
pub const MAX_DIMENSION: u32 = 16_384;
/// The longest duration accepted, in seconds (24 hours).
pub const MAX_DURATION_SECONDS: f64 = 86_400.0;
/// The highest frame rate accepted, in frames per second.
pub const MAX_FRAME_RATE: f64 = 1_000.0;

/// How ffprobe is run.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The ffprobe binary: a name looked up in `PATH` or a path. Default `ffprobe`.
    pub ffprobe: PathBuf,
    /// The longest each ffprobe run may take before it is killed. Default 30 s.
    pub timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            ffprobe: PathBuf::from("ffprobe"),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What a video file holds, as its container and streams declare it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoProbe {
    /// The demuxer FFmpeg read it with, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `matroska,webm`.
    pub container: String,
    /// Duration in seconds (the container's, i.e. its longest stream).
    pub duration_seconds: f64,
    /// The file's first timestamp in seconds: 0 for most files, often 1.4 in MPEG-TS. FFmpeg
    /// shifts it to 0 when transcoding.
    pub start_seconds: f64,
    /// Width of the stored picture in pixels, before rotation.
    pub width: u32,
    /// Height of the stored picture in pixels, before rotation.
    pub height: u32,
    /// The rotation a player applies, in degrees counter-clockwise as FFmpeg reports the
    /// stream's display matrix, normalised to 0, 90, 180 or 270 (phones record portrait
    /// video as landscape pictures with a rotation of 90 or 270).
    pub rotation: u32,
    /// Width as shown, in pixels: after rotation and non-square pixels (sample aspect ratio).
    /// FFmpeg rotates decoded frames the same way, so renditions are planned from this.
    pub display_width: u32,
    /// Height as shown, in pixels (see [`VideoProbe::display_width`]).
    pub display_height: u32,
    /// The video codec's FFmpeg name, e.g. `h264`, `hevc`, `vp9`.
    pub video_codec: String,
    /// The video stream's pixel format, e.g. `yuv420p`, when declared.
    pub pixel_format: Option<String>,
    /// Frames per second: the stream's average frame rate, or its base rate (`r_frame_rate`)
    /// when no average is declared.
    pub frame_rate: f64,
    /// Overall bitrate in bits per second: the container's, or size × 8 / duration.
    pub bitrate: u64,
    /// The video stream's own bitrate in bits per second, when declared.
    pub video_bitrate: Option<u64>,
    /// The first audio stream's codec, e.g. `aac`; `None` for a silent video.
    pub audio_codec: Option<String>,
    /// The first audio stream's channel count.
    pub audio_channels: Option<u32>,
    /// The first audio stream's sample rate in Hz.
    pub audio_sample_rate: Option<u32>,
    /// The file's size in bytes.
    pub size_bytes: u64,
}

impl VideoProbe {
    /// Whether the picture is shown taller than wide.
    pub fn is_portrait(&self) -> bool {
        self.display_height > self.display_width
    }
}

/// Why a file cannot be probed as a video. Every variant but [`ProbeError::ToolMissing`],
/// [`ProbeError::TimedOut`], [`ProbeError::Io`] and [`ProbeError::UnexpectedOutput`] is a
/// problem with the file ([`ProbeError::is_bad_file`]), and its message can be shown to the
/// person who uploaded it.
#[derive(Debug, Error)]
pub enum ProbeError {
    /// There is no file at the path.
    #[error("no file at {path}")]
    Missing {
        /// The path given.
        path: PathBuf,
    },

    /// The path is a folder, a FIFO or a device rather than a regular file.
    #[error("{path} is not a regular file")]
    NotAFile {
        /// The path given.
        path: PathBuf,
    },

    /// FFmpeg recognises no audio or video format in the file (a text file, a document, an
    /// archive, random bytes).
    #[error("this file is not a video or audio file that can be read; upload a video such as MP4, MOV, MKV or WebM")]
    NotMedia,

    /// FFmpeg recognises the file's format, but it is not one accepted for upload (see
    /// [`ACCEPTED_DEMUXERS`]), e.g. a playlist.
    #[error(
        "files of format `{format}` are not accepted; upload a video such as MP4, MOV, MKV or WebM"
    )]
    UnsupportedFormat {
        /// FFmpeg's name of the format.
        format: String,
    },

    /// The file is media but has no moving picture: an audio file, a still image, or audio
    /// with cover art.
    #[error("this file has no video: it is {found}; upload a video")]
    NoVideoStream {
        /// What it is instead, e.g. `an audio file (wav, pcm_s16le)` or `a still image (png)`.
        found: String,
    },

    /// The file is cut short: its header announces more than it holds (an interrupted
    /// upload or copy).
    #[error("this file is incomplete ({detail}); upload it again")]
    Truncated {
        /// What shows it, e.g. `its data stops at 1.0 s of the 2.0 s it announces`.
        detail: String,
    },

    /// The file's format is recognised but its structure cannot be read.
    #[error("this file is damaged and cannot be read ({detail})")]
    Corrupt {
        /// ffprobe's complaint or what is missing.
        detail: String,
    },

    /// A figure is outside what is accepted (a width of 100,000 pixels, a duration of a
    /// year): a hostile or broken header.
    #[error("the file's {what} ({value}) is outside the accepted range ({limit})")]
    OutOfRange {
        /// Which figure.
        what: &'static str,
        /// Its value, as read.
        value: String,
        /// The accepted range.
        limit: String,
    },

    /// The ffprobe binary cannot be found (install Debian's `ffmpeg` package).
    #[error("`{tool}` cannot be run: it is not installed or not in PATH (install Debian's ffmpeg package)")]
    ToolMissing {
        /// The binary that was looked for.
        tool: PathBuf,
    },

    /// ffprobe ran longer than [`ProbeOptions::timeout`] and was killed.
    #[error("ffprobe took longer than {seconds} s and was stopped")]
    TimedOut {
        /// The timeout, in seconds.
        seconds: u64,
    },

    /// The file's metadata or ffprobe's pipes could not be read.
    #[error("cannot probe {path}")]
    Io {
        /// The file being probed.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// ffprobe succeeded but printed something this module cannot read (another version of
    /// FFmpeg with a different output).
    #[error("ffprobe's output cannot be read: {reason}")]
    UnexpectedOutput {
        /// What is wrong with it.
        reason: String,
    },
}

impl ProbeError {
    /// Whether the error is the file's fault (show it to the uploader; retrying will not
    /// help) rather than the machine's (log it; a retry may succeed).
    pub fn is_bad_file(&self) -> bool {
        matches!(
            self,
            Self::Missing { .. }
                | Self::NotAFile { .. }
                | Self::NotMedia
                | Self::UnsupportedFormat { .. }
                | Self::NoVideoStream { .. }
                | Self::Truncated { .. }
                | Self::Corrupt { .. }
                | Self::OutOfRange { .. }
        )
    }
}

/// Probes `path` (see the module's documentation for what is checked).
///
/// # Errors
/// A [`ProbeError`] naming what is wrong with the file, or with running ffprobe.
pub async fn probe(path: &Path, options: &ProbeOptions) -> Result<VideoProbe, ProbeError> {
    let metadata = match tokio::fs::metadata(path).await {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ProbeError::Missing { path: path.into() })
        }
        Err(source) => {
            return Err(ProbeError::Io {
                path: path.into(),
                source,
            })
        }
    };
    if !metadata.is_file() {
        return Err(ProbeError::NotAFile { path: path.into() });
    }
    if metadata.len() == 0 {
        return Err(ProbeError::NotMedia);
    }

    let mut header = ffprobe_command(options, path);
    header.args(["-print_format", "json", "-show_format", "-show_streams"]);
    let output = run(header, path, options).await?;
    if !output.success {
        let head = read_head(path).await.map_err(|source| ProbeError::Io {
            path: path.into(),
            source,
        })?;
        return Err(classify_failure(&output.stderr, &head));
    }
    let parsed: FfprobeOutput =
        serde_json::from_slice(&output.stdout).map_err(|e| ProbeError::UnexpectedOutput {
            reason: e.to_string(),
        })?;
    let probe = interpret(parsed, metadata.len())?;
    check_complete(path, options, &probe).await?;
    Ok(probe)
}

/// The first 12 bytes of the file (fewer if it is shorter).
async fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path).await?;
    let mut head = Vec::with_capacity(12);
    file.take(12).read_to_end(&mut head).await?;
    Ok(head)
}

/// An ffprobe command for `path` with the logging level and the whitelists every run uses.
fn ffprobe_command(options: &ProbeOptions, path: &Path) -> Command {
    let mut command = Command::new(&options.ffprobe);
    command
        .args(["-v", "error", "-hide_banner"])
        .args(["-format_whitelist", ACCEPTED_DEMUXERS])
        .args(["-protocol_whitelist", "file"]);
    command.arg("-i").arg(file_url(path));
    command
}

/// `path` as a `file:` URL for FFmpeg, so that a file name with a colon is not taken for a
/// protocol.
pub(crate) fn file_url(path: &Path) -> std::ffi::OsString {
    let mut url = std::ffi::OsString::from("file:");
    url.push(path.as_os_str());
    url
}

/// A finished child process's outcome.
pub(crate) struct ToolOutput {
    pub(crate) success: bool,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

/// Runs `command` to completion with its output captured, killing it after the timeout.
async fn run(
    mut command: Command,
    path: &Path,
    options: &ProbeOptions,
) -> Result<ToolOutput, ProbeError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ProbeError::ToolMissing {
                tool: options.ffprobe.clone(),
            }
        } else {
            ProbeError::Io {
                path: path.into(),
                source,
            }
        }
    })?;
    // Dropping the future on timeout drops the child, which kill_on_drop kills.
    let output = tokio::time::timeout(options.timeout, child.wait_with_output())
        .await
        .map_err(|_| ProbeError::TimedOut {
            seconds: options.timeout.as_secs().max(1),
        })?
        .map_err(|source| ProbeError::Io {
            path: path.into(),
            source,
        })?;
    Ok(ToolOutput {
        success: output.status.success(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Turns a failed ffprobe's complaint into the error a person can act on.
fn classify_failure(stderr: &str, head: &[u8]) -> ProbeError {
    if let Some(line) = stderr
        .lines()
        .find(|l| l.contains("Format not on whitelist"))
    {
        // `[hls @ 0x55…] Format not on whitelist '…'`
        let format = line
            .strip_prefix('[')
            .and_then(|rest| rest.split_once(" @"))
            .map(|(name, _)| name.to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        return match still_image_format(&format) {
            true => ProbeError::NoVideoStream {
                found: format!("a still image ({format})"),
            },
            false => ProbeError::UnsupportedFormat { format },
        };
    }
    // FFmpeg also tries the MP4 demuxer on anything named `.mp4`: only a file that starts
    // with an MP4 box is an MP4 that lost its index.
    if stderr.contains("moov atom not found") && starts_with_mp4_box(head) {
        return ProbeError::Truncated {
            detail: "the MP4 index (moov), which is written at the end, is missing".into(),
        };
    }
    if stderr.contains("End of file") {
        return ProbeError::Truncated {
            detail: "the file ends inside its header".into(),
        };
    }
    if stderr.contains("Invalid data found when processing input") {
        return ProbeError::NotMedia;
    }
    ProbeError::Corrupt {
        detail: last_line(stderr),
    }
}

/// The last non-empty line of `text`, without FFmpeg's `[demuxer @ 0x…]` prefix, at most
/// 200 characters (it ends up in a message shown to a person).
pub(crate) fn last_line(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("ffprobe failed without a message");
    let line = match line.split_once("] ") {
        Some((prefix, rest)) if prefix.starts_with('[') => rest,
        _ => line,
    };
    line.chars().take(200).collect()
}

/// Whether `head`, a file's first bytes, is an ISO-BMFF (MP4, MOV) box header: a 32-bit size
/// and a four-letter type that can open such a file.
fn starts_with_mp4_box(head: &[u8]) -> bool {
    const FIRST_BOXES: [&[u8; 4]; 6] = [b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"];
    head.get(4..8)
        .is_some_and(|kind| FIRST_BOXES.iter().any(|b| b.as_slice() == kind))
}

/// Whether FFmpeg's demuxer `name` reads still images.
fn still_image_format(name: &str) -> bool {
    name == "image2" || name.ends_with("_pipe")
}

/// Codecs of still pictures: a "video" stream of one of these is an image.
const IMAGE_CODECS: &[&str] = &[
    "png", "mjpeg", "bmp", "gif", "webp", "tiff", "jpeg2000", "jpegls",
];

// ---- ffprobe's JSON (every field optional: hostile files leave any of them out) ----

#[derive(Debug, Deserialize)]
struct FfprobeOutput {
    #[serde(default)]
    streams: Vec<FfprobeStream>,
    format: Option<FfprobeFormat>,
}

#[derive(Debug, Default, Deserialize)]
struct FfprobeFormat {
    format_name: Option<String>,
    duration: Option<String>,
    start_time: Option<String>,
    bit_rate: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct FfprobeStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    sample_aspect_ratio: Option<String>,
    pix_fmt: Option<String>,
    r_frame_rate: Option<String>,
    avg_frame_rate: Option<String>,
    duration: Option<String>,
    bit_rate: Option<String>,
    channels: Option<i64>,
    sample_rate: Option<String>,
    #[serde(default)]
    disposition: Disposition,
    #[serde(default)]
    tags: Tags,
    #[serde(default)]
    side_data_list: Vec<SideData>,
}

#[derive(Debug, Default, Deserialize)]
struct Disposition {
    #[serde(default)]
    attached_pic: i64,
}

#[derive(Debug, Default, Deserialize)]
struct Tags {
    rotate: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct SideData {
    rotation: Option<f64>,
}

/// Checks and converts ffprobe's description of the file.
fn interpret(output: FfprobeOutput, size_bytes: u64) -> Result<VideoProbe, ProbeError> {
    let format = output.format.unwrap_or_default();
    let container = format.format_name.unwrap_or_default();
    if output.streams.is_empty() {
        return Err(ProbeError::Corrupt {
            detail: "the container holds no readable stream".into(),
        });
    }
    let audio = output
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("audio"));
    let video = output
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video") && s.disposition.attached_pic == 0);
    let Some(video) = video else {
        let found = match audio {
            Some(audio) => format!(
                "an audio file ({container}, {})",
                audio.codec_name.as_deref().unwrap_or("unknown codec")
            ),
            None => "neither video nor audio".to_owned(),
        };
        return Err(ProbeError::NoVideoStream { found });
    };
    let video_codec = video
        .codec_name
        .clone()
        .ok_or_else(|| ProbeError::Corrupt {
            detail: "the video stream's codec is not declared".into(),
        })?;
    if still_image_format(&container) || IMAGE_CODECS.contains(&video_codec.as_str()) {
        // A Motion-JPEG *video* in a movie container is a real video.
        let is_movie = !still_image_format(&container) && video_codec == "mjpeg";
        if !is_movie {
            return Err(ProbeError::NoVideoStream {
                found: format!("a still image ({video_codec})"),
            });
        }
    }

    let width = dimension("width", video.width)?;
    let height = dimension("height", video.height)?;

    let duration_seconds = parse_seconds(format.duration.as_deref())
        .or_else(|| parse_seconds(video.duration.as_deref()))
        .ok_or_else(|| ProbeError::Corrupt {
            detail: "the file declares no duration".into(),
        })?;
    if duration_seconds <= 0.0 {
        return Err(ProbeError::Corrupt {
            detail: "the file declares a duration of zero".into(),
        });
    }
    if duration_seconds > MAX_DURATION_SECONDS {
        return Err(ProbeError::OutOfRange {
            what: "duration",
            value: format!("{duration_seconds} s"),
            limit: format!("at most {MAX_DURATION_SECONDS} s"),
        });
    }

    let frame_rate = parse_rate(video.avg_frame_rate.as_deref())
        .or_else(|| parse_rate(video.r_frame_rate.as_deref()))
        .ok_or_else(|| ProbeError::Corrupt {
            detail: "the video stream declares no frame rate".into(),
        })?;
    if frame_rate > MAX_FRAME_RATE {
        return Err(ProbeError::OutOfRange {
            what: "frame rate",
            value: format!("{frame_rate} fps"),
            limit: format!("at most {MAX_FRAME_RATE} fps"),
        });
    }

    let rotation = rotation_of(video);
    let (sar_num, sar_den) = parse_ratio(video.sample_aspect_ratio.as_deref())
        .filter(|&(n, d)| n > 0 && d > 0)
        .unwrap_or((1, 1));
    // Non-square pixels: the shown width is the stored width stretched by the ratio.
    let shown_width = (f64::from(width) * sar_num as f64 / sar_den as f64).round();
    let shown_width = to_u32(shown_width).filter(|w| (1..=MAX_DIMENSION).contains(w));
    let shown_width = shown_width.ok_or_else(|| ProbeError::OutOfRange {
        what: "sample aspect ratio",
        value: format!("{sar_num}:{sar_den}"),
        limit: format!("a shown width of at most {MAX_DIMENSION} pixels"),
    })?;
    let (display_width, display_height) = match rotation {
        90 | 270 => (height, shown_width),
        _ => (shown_width, height),
    };

    let bitrate = parse_u64(format.bit_rate.as_deref())
        .filter(|&b| b > 0)
        .unwrap_or_else(|| (size_bytes as f64 * 8.0 / duration_seconds).round() as u64);

    Ok(VideoProbe {
        container,
        duration_seconds,
        start_seconds: parse_signed_seconds(format.start_time.as_deref()).unwrap_or(0.0),
        width,
        height,
        rotation,
        display_width,
        display_height,
        video_codec,
        pixel_format: video.pix_fmt.clone(),
        frame_rate,
        bitrate,
        video_bitrate: parse_u64(video.bit_rate.as_deref()),
        audio_codec: audio.and_then(|a| a.codec_name.clone()),
        audio_channels: audio
            .and_then(|a| a.channels)
            .and_then(|c| u32::try_from(c).ok()),
        audio_sample_rate: audio
            .and_then(|a| parse_u64(a.sample_rate.as_deref()).and_then(|r| u32::try_from(r).ok())),
        size_bytes,
    })
}

/// A width or height, checked to be within `1..=`[`MAX_DIMENSION`].
fn dimension(what: &'static str, value: Option<i64>) -> Result<u32, ProbeError> {
    let value = value.ok_or_else(|| ProbeError::Corrupt {
        detail: format!("the video stream declares no {what}"),
    })?;
    u32::try_from(value)
        .ok()
        .filter(|v| (1..=MAX_DIMENSION).contains(v))
        .ok_or_else(|| ProbeError::OutOfRange {
            what,
            value: format!("{value} pixels"),
            limit: format!("1 to {MAX_DIMENSION} pixels"),
        })
}

/// The counter-clockwise rotation in degrees (0, 90, 180, 270) from the display matrix
/// FFmpeg reports, or from the older `rotate` tag (clockwise degrees).
fn rotation_of(stream: &FfprobeStream) -> u32 {
    let from_matrix = stream.side_data_list.iter().find_map(|s| s.rotation);
    let from_tag = || {
        stream
            .tags
            .rotate
            .as_deref()
            .and_then(|r| r.trim().parse::<f64>().ok())
            .map(|clockwise| -clockwise)
    };
    let degrees = from_matrix.or_else(from_tag).unwrap_or(0.0);
    if !degrees.is_finite() {
        return 0;
    }
    // To the nearest quarter turn, in 0..360.
    let quarters = (degrees / 90.0).round().rem_euclid(4.0);
    (quarters as u32) * 90
}

/// A non-negative finite number of seconds.
fn parse_seconds(text: Option<&str>) -> Option<f64> {
    text?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

/// A finite number of seconds, possibly negative (a start time).
fn parse_signed_seconds(text: Option<&str>) -> Option<f64> {
    text?.trim().parse::<f64>().ok().filter(|s| s.is_finite())
}

/// A positive integer.
fn parse_u64(text: Option<&str>) -> Option<u64> {
    text?.trim().parse::<u64>().ok()
}

/// `num/den` or `num:den` as two integers.
fn parse_ratio(text: Option<&str>) -> Option<(i64, i64)> {
    let text = text?.trim();
    let (num, den) = text.split_once('/').or_else(|| text.split_once(':'))?;
    Some((num.trim().parse().ok()?, den.trim().parse().ok()?))
}

/// A frame rate `num/den` as a positive finite number (`0/0` means "not declared").
fn parse_rate(text: Option<&str>) -> Option<f64> {
    let (num, den) = parse_ratio(text)?;
    if num <= 0 || den <= 0 {
        return None;
    }
    Some(num as f64 / den as f64).filter(|r| r.is_finite())
}

/// A non-negative finite float as `u32`, if it fits.
fn to_u32(value: f64) -> Option<u32> {
    (value.is_finite() && value >= 0.0 && value <= f64::from(u32::MAX)).then_some(value as u32)
}

/// Demuxes the last [`TAIL_SECONDS`] and checks that the packets reach the end the header
/// announces (see the module's documentation).
async fn check_complete(
    path: &Path,
    options: &ProbeOptions,
    probe: &VideoProbe,
) -> Result<(), ProbeError> {
    let mut tail = ffprobe_command(options, path);
    // -read_intervals and packet times are in the file's own timestamps, which start at
    // `start_seconds`.
    let announced_end = probe.start_seconds + probe.duration_seconds;
    let from = (announced_end - TAIL_SECONDS).max(0.0);
    tail.args(["-read_intervals", &format!("{from:.3}%")])
        .args(["-show_entries", "packet=pts_time,duration_time"])
        .args(["-print_format", "csv=p=0"]);
    let output = run(tail, path, options).await?;
    let ended_early = ["partial file", "ended prematurely", "End of file"]
        .iter()
        .any(|m| output.stderr.contains(m));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last_end = stdout
        .lines()
        .filter_map(|line| {
            let (pts, duration) = line.split_once(',').unwrap_or((line, "0"));
            let pts = pts.trim().parse::<f64>().ok()?;
            let duration = duration.trim().parse::<f64>().unwrap_or(0.0);
            Some(pts + duration.max(0.0))
        })
        .filter(|end| end.is_finite())
        .fold(None, |max: Option<f64>, end| {
            Some(max.map_or(end, |m| m.max(end)))
        });
    let tolerance = TRUNCATION_TOLERANCE_SECONDS.max(2.0 / probe.frame_rate);
    match last_end {
        _ if ended_early => Err(ProbeError::Truncated {
            detail: match last_end {
                Some(end) => format!(
                    "its data stops at {:.1} s of the {:.1} s it announces",
                    end - probe.start_seconds,
                    probe.duration_seconds
                ),
                None => "its data stops before the end it announces".to_owned(),
            },
        }),
        None if !output.success => Err(ProbeError::Corrupt {
            detail: last_line(&output.stderr),
        }),
        None => Err(ProbeError::Truncated {
            detail: format!(
                "no data is found in its last {TAIL_SECONDS} s of {:.1} s",
                probe.duration_seconds
            ),
        }),
        Some(end) if end + tolerance < announced_end => Err(ProbeError::Truncated {
            detail: format!(
                "its data stops at {:.1} s of the {:.1} s it announces",
                end - probe.start_seconds,
                probe.duration_seconds
            ),
        }),
        Some(_) => Ok(()),
    }
}
