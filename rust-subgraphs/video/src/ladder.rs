//! Which HLS renditions a source gets: [`plan_ladder`] turns a [`VideoProbe`] into a list of
//! [`Rendition`]s (size, bitrates, frame rate, key-frame interval), and [`measure_complexity`]
//! measures how hard a source is to compress, for the per-title option that lowers the
//! bitrates of simple content (slides, talking heads).
//!
//! # Rungs
//!
//! The ladder has seven rungs, named by the short side of a 16:9 picture: 240p, 360p, 480p,
//! 720p, 1080p, 1440p and 2160p ([`RUNGS`]). A rung is a box, `long × short` (e.g. 1280 × 720
//! for 720p), laid in the source's orientation; the source is scaled down to fit it, keeping
//! its aspect ratio, with even dimensions (H.264 with 4:2:0 chroma needs them). So a portrait
//! 1080 × 1920 source gets 240 × 426 … 1080 × 1920, a 4:3 1440 × 1080 source 960 × 720 at
//! 720p, and an ultra-wide 1920 × 800 source keeps its full width at 1080p (fitting by the
//! short side alone would give it 2592 pixels of width there). Rungs stop at the first one the
//! source fits in whole, which gets the source's own size: nothing is upscaled, and a source
//! smaller than 240p gets one rendition at its own size.
//!
//! # Bitrates
//!
//! The video bitrates anchor on the example ladder of Apple's *HLS Authoring Specification for
//! Apple Devices* (§1.18, "Video average bit rate", H.264 rows: 416×234 145 kb/s, 640×360 365,
//! 768×432 730 and 1100, 960×540 2000, 1280×720 3000 and 4500, 1920×1080 6000 and 7800; HEVC
//! rows 2560×1440 8100, 3840×2160 11600), at up to 30 frames per second:
//!
//! | rung  | box         | kb/s   | from Apple's table                                   |
//! |-------|-------------|--------|------------------------------------------------------|
//! | 240p  | 426 × 240   | 145    | 416×234                                              |
//! | 360p  | 640 × 360   | 365    | 640×360                                              |
//! | 480p  | 854 × 480   | 1400   | 768×432's 1100 × 1.24, the ratio of pixels, rounded   |
//! | 720p  | 1280 × 720  | 3000   | 1280×720                                             |
//! | 1080p | 1920 × 1080 | 6000   | 1920×1080                                            |
//! | 1440p | 2560 × 1440 | 10800  | HEVC 8100 × 4/3 (H.264 needs 6000/4500 of HEVC's at 1080p) |
//! | 2160p | 3840 × 2160 | 15500  | HEVC 11600 × 4/3, rounded                            |
//!
//! A rendition smaller than its box (4:3, ultra-wide) gets the rate scaled by its share of the
//! box's pixels. Above 30 frames per second the rate is raised by 30 %, the step between
//! Apple's two 1080p rates (6000 → 7800). Every encode is constrained VBR: peak
//! ([`Rendition::video_max_bitrate`]) 110 % of the average, within the 10 % Apple allows
//! between declared and measured peak, with a two-second buffer.
//!
//! Apple limits H.264 to level 4.2 (1080p); the 1440p and 2160p rungs exceed it. Set
//! [`LadderOptions::max_rung`] to 1080 to stay within it.
//!
//! Audio is AAC-LC stereo at 128 kb/s, 96 kb/s at 360p and below; a silent source gets none.
//!
//! # Key frames and segments
//!
//! Apple asks for a key frame every 2 s (§1.9): the GOP is `round(2 × frame rate)` frames
//! ([`gop_frames`]), and segments last [`SEGMENT_SECONDS`] = 6 s, three key-frame intervals,
//! so every segment starts on a key frame. Frame rates above 60, which Apple forbids (§1.15),
//! are halved until they are not.
//!
//! # Per-title
//!
//! [`measure_complexity`] encodes up to [`COMPLEXITY_SAMPLE_SECONDS`] of the source (three
//! windows spread over a long source, all of a short one), scaled to the 360p rung, with
//! x264 at constant quality (CRF [`COMPLEXITY_CRF`], preset `veryfast`), and compares the
//! bitrate that took with the ladder's 360p rate for the same picture. Constant quality spends
//! what the content needs: a slide with a moving cursor needs a few kb/s, film grain megabits.
//! When the content needs less than the ladder grants, every rung's video bitrate is scaled
//! by that ratio ([`Complexity::factor`]), never below [`MIN_PER_TITLE_FACTOR`] (so a
//! rendition keeps headroom for the rare busy scene the sample missed) and never above 1 (the
//! table already suits ordinary footage). Audio is left alone. The measure costs one small
//! encode of at most 12 s of 360p video (about a second on two cores).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::probe::VideoProbe;

/// One rung of the ladder: its name, its box (long side × short side, in pixels) and its
/// video bitrate in bits per second at up to 30 frames per second (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    /// The rung's name, e.g. `720p`.
    pub name: &'static str,
    /// The box's long side in pixels.
    pub long: u32,
    /// The box's short side in pixels (the number in the name).
    pub short: u32,
    /// The video bitrate for a picture filling the box, in bits per second.
    pub video_bitrate: u64,
}

/// The ladder's rungs, smallest first (see the module's table for where each rate comes from).
pub const RUNGS: [Rung; 7] = [
    Rung {
        name: "240p",
        long: 426,
        short: 240,
        video_bitrate: 145_000,
    },
    Rung {
        name: "360p",
        long: 640,
        short: 360,
        video_bitrate: 365_000,
    },
    Rung {
        name: "480p",
        long: 854,
        short: 480,
        video_bitrate: 1_400_000,
    },
    Rung {
        name: "720p",
        long: 1280,
        short: 720,
        video_bitrate: 3_000_000,
    },
    Rung {
        name: "1080p",
        long: 1920,
        short: 1080,
        video_bitrate: 6_000_000,
    },
    Rung {
        name: "1440p",
        long: 2560,
        short: 1440,
        video_bitrate: 10_800_000,
    },
    Rung {
        name: "2160p",
        long: 3840,
        short: 2160,
        video_bitrate: 15_500_000,
    },
];

/// Seconds between key frames (Apple's HLS authoring specification, §1.9).
pub const KEYFRAME_INTERVAL_SECONDS: u32 = 2;
/// Seconds per HLS segment: a multiple of [`KEYFRAME_INTERVAL_SECONDS`], Apple's 6 s.
pub const SEGMENT_SECONDS: u32 = 6;
/// The highest frame rate a rendition gets (Apple's §1.15).
pub const MAX_FRAME_RATE: f64 = 60.0;
/// How much the video bitrate rises above 30 frames per second (Apple's 6000 → 7800 kb/s).
pub const HIGH_FRAME_RATE_FACTOR: f64 = 1.3;
/// The peak video bitrate in percent of the average (constrained VBR).
pub const PEAK_PERCENT: u64 = 110;
/// Audio bitrate above 360p, in bits per second (AAC-LC stereo).
pub const AUDIO_BITRATE: u32 = 128_000;
/// Audio bitrate at 360p and below, in bits per second.
pub const LOW_AUDIO_BITRATE: u32 = 96_000;
/// Audio channels of every rendition (stereo; a mono source is duplicated to both).
pub const AUDIO_CHANNELS: u32 = 2;
/// The lowest per-title factor: bitrates are never cut by more than 60 %.
pub const MIN_PER_TITLE_FACTOR: f64 = 0.4;
/// The constant-quality setting of the complexity measure (x264's default CRF).
pub const COMPLEXITY_CRF: u32 = 23;
/// The most seconds of the source the complexity measure encodes.
pub const COMPLEXITY_SAMPLE_SECONDS: f64 = 12.0;

/// What [`plan_ladder`] may be told.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderOptions {
    /// The source's measured complexity: when given, video bitrates are scaled by its
    /// [`Complexity::factor`]. Default `None` (the table's rates).
    pub per_title: Option<Complexity>,
    /// The largest rung, by its short side in pixels (e.g. 1080 for Apple's H.264 level 4.2).
    /// Default 2160.
    pub max_rung: u32,
}

impl Default for LadderOptions {
    fn default() -> Self {
        Self {
            per_title: None,
            max_rung: 2160,
        }
    }
}

/// One HLS rendition to encode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rendition {
    /// The rung's name (`240p` … `2160p`), also the rendition's folder name.
    pub name: String,
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Average video bitrate in bits per second.
    pub video_bitrate: u64,
    /// Peak video bitrate in bits per second ([`PEAK_PERCENT`] of the average).
    pub video_max_bitrate: u64,
    /// Audio bitrate in bits per second, `None` when the source is silent.
    pub audio_bitrate: Option<u32>,
    /// Frames per second: the source's, halved while above [`MAX_FRAME_RATE`].
    pub frame_rate: f64,
    /// Frames between key frames: `round(2 s × frame rate)`.
    pub gop_frames: u32,
}

/// How hard a source is to compress, from [`measure_complexity`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Complexity {
    /// Bits per pixel per frame the constant-quality encode needed.
    pub bits_per_pixel: f64,
    /// The constant-quality encode's bitrate, in bits per second, at the sample size.
    pub sample_bitrate: u64,
    /// The ladder's rate for the same picture (the 360p rung), in bits per second.
    pub reference_bitrate: u64,
    /// What video bitrates are multiplied by: `sample / reference`, within
    /// [`MIN_PER_TITLE_FACTOR`]`..=1`.
    pub factor: f64,
}

impl Complexity {
    /// The complexity of content that needs `sample_bitrate` where the ladder grants
    /// `reference_bitrate`, with `bits_per_pixel` for the record.
    pub fn from_bitrates(sample_bitrate: u64, reference_bitrate: u64, bits_per_pixel: f64) -> Self {
        let ratio = if reference_bitrate == 0 {
            1.0
        } else {
            sample_bitrate as f64 / reference_bitrate as f64
        };
        Self {
            bits_per_pixel,
            sample_bitrate,
            reference_bitrate,
            factor: ratio.clamp(MIN_PER_TITLE_FACTOR, 1.0),
        }
    }

    /// The share of video bits per-title saves, 0 to 1 − [`MIN_PER_TITLE_FACTOR`].
    pub fn saved_fraction(&self) -> f64 {
        1.0 - self.factor
    }
}

/// Frames between key frames for a frame rate: one key frame every
/// [`KEYFRAME_INTERVAL_SECONDS`], at least 1 (25 fps → 50, 29.97 → 60, 60 → 120).
pub fn gop_frames(frame_rate: f64) -> u32 {
    let frames = (f64::from(KEYFRAME_INTERVAL_SECONDS) * frame_rate).round();
    if frames.is_finite() && frames >= 1.0 {
        frames.min(f64::from(u32::MAX)) as u32
    } else {
        1
    }
}

/// A rendition's frame rate: the source's, halved while above [`MAX_FRAME_RATE`] (120 → 60,
/// 119.88 → 59.94), so frames are dropped evenly.
pub fn output_frame_rate(source: f64) -> f64 {
    let mut rate = source;
    while rate > MAX_FRAME_RATE + 0.01 {
        rate /= 2.0;
    }
    rate
}

/// The renditions for a source, smallest first (see the module's documentation). Never empty.
pub fn plan_ladder(probe: &VideoProbe, options: &LadderOptions) -> Vec<Rendition> {
    let source_w = probe.display_width.max(2);
    let source_h = probe.display_height.max(2);
    let landscape = source_w >= source_h;
    let (source_long, source_short) = if landscape {
        (source_w, source_h)
    } else {
        (source_h, source_w)
    };
    let frame_rate = output_frame_rate(probe.frame_rate);
    let factor = options.per_title.as_ref().map_or(1.0, |c| c.factor);
    let rate_factor = if frame_rate > 30.5 {
        HIGH_FRAME_RATE_FACTOR
    } else {
        1.0
    };

    let mut renditions: Vec<Rendition> = Vec::new();
    // The first rung always counts, so that a `max_rung` below 240 still gives a rendition.
    let rungs = RUNGS
        .iter()
        .enumerate()
        .filter(|(i, r)| *i == 0 || r.short <= options.max_rung)
        .map(|(_, r)| r);
    for rung in rungs {
        let scale = (f64::from(rung.long) / f64::from(source_long))
            .min(f64::from(rung.short) / f64::from(source_short))
            .min(1.0);
        let long = even(f64::from(source_long) * scale, source_long);
        let short = even(f64::from(source_short) * scale, source_short);
        let (width, height) = if landscape {
            (long, short)
        } else {
            (short, long)
        };
        if renditions
            .last()
            .is_some_and(|r| r.width == width && r.height == height)
        {
            break;
        }
        let box_pixels = f64::from(rung.long) * f64::from(rung.short);
        let share = (f64::from(width) * f64::from(height) / box_pixels).min(1.0);
        let video_bitrate = round_kbps(rung.video_bitrate as f64 * share * rate_factor * factor);
        let audio_bitrate = probe.audio_codec.as_ref().map(|_| {
            if rung.short <= 360 {
                LOW_AUDIO_BITRATE
            } else {
                AUDIO_BITRATE
            }
        });
        renditions.push(Rendition {
            name: rung.name.to_owned(),
            width,
            height,
            video_bitrate,
            video_max_bitrate: video_bitrate * PEAK_PERCENT / 100,
            audio_bitrate,
            frame_rate,
            gop_frames: gop_frames(frame_rate),
        });
        if scale >= 1.0 {
            break;
        }
    }
    renditions
}

/// `value` rounded to the nearest even number, at least 2 and at most `limit` rounded down to
/// even (an odd source dimension loses its last pixel rather than gaining one).
fn even(value: f64, limit: u32) -> u32 {
    let limit = (limit & !1).max(2);
    let rounded = (value / 2.0).round() * 2.0;
    if rounded.is_finite() && rounded >= 2.0 {
        (rounded.min(f64::from(limit))) as u32
    } else {
        2
    }
}

/// Bits per second rounded to whole kb/s, at least 1 kb/s.
fn round_kbps(bits: f64) -> u64 {
    let kbps = (bits / 1000.0).round();
    if kbps.is_finite() && kbps >= 1.0 {
        kbps as u64 * 1000
    } else {
        1000
    }
}

/// Why the complexity of a source could not be measured.
#[derive(Debug, Error)]
pub enum ComplexityError {
    /// The ffmpeg binary cannot be found (install Debian's `ffmpeg` package).
    #[error("`{tool}` cannot be run: it is not installed or not in PATH")]
    ToolMissing {
        /// The binary that was looked for.
        tool: std::path::PathBuf,
    },
    /// The encode ran longer than the timeout and was killed.
    #[error("the complexity measure took longer than {seconds} s and was stopped")]
    TimedOut {
        /// The timeout, in seconds.
        seconds: u64,
    },
    /// ffmpeg failed or produced nothing (a source that does not decode).
    #[error("the complexity measure failed: {detail}")]
    Failed {
        /// ffmpeg's last complaint.
        detail: String,
    },
    /// ffmpeg's pipes could not be read.
    #[error("the complexity measure could not run")]
    Io(#[from] std::io::Error),
}

/// How [`measure_complexity`] runs ffmpeg.
#[derive(Debug, Clone)]
pub struct ComplexityOptions {
    /// The ffmpeg binary. Default `ffmpeg`.
    pub ffmpeg: std::path::PathBuf,
    /// The longest the encode may take before it is killed. Default 120 s.
    pub timeout: Duration,
}

impl Default for ComplexityOptions {
    fn default() -> Self {
        Self {
            ffmpeg: "ffmpeg".into(),
            timeout: Duration::from_secs(120),
        }
    }
}

/// Measures how hard `source` (described by `probe`) is to compress (see the module's
/// documentation, "Per-title").
///
/// # Errors
/// [`ComplexityError`] when ffmpeg cannot run, fails, or takes too long.
pub async fn measure_complexity(
    source: &Path,
    probe: &VideoProbe,
    options: &ComplexityOptions,
) -> Result<Complexity, ComplexityError> {
    // The sample's picture is the 360p rung of this source's own ladder.
    let sample_plan = plan_ladder(
        probe,
        &LadderOptions {
            per_title: None,
            max_rung: 360,
        },
    );
    let Some(sample) = sample_plan.last() else {
        return Err(ComplexityError::Failed {
            detail: "no rendition to sample".into(),
        });
    };
    let windows = sample_windows(probe.duration_seconds);
    let seconds: f64 = windows.iter().map(|(_, length)| length).sum();

    let mut command = Command::new(&options.ffmpeg);
    command.args(["-nostdin", "-v", "error", "-hide_banner"]);
    for (start, length) in &windows {
        command
            .args(["-ss", &format!("{start:.3}"), "-t", &format!("{length:.3}")])
            .args(["-protocol_whitelist", "file", "-i"])
            .arg(crate::probe::file_url(source));
    }
    let scale = format!(
        "fps={:.6},scale={}:{}:flags=bicubic,setsar=1,format=yuv420p",
        sample.frame_rate, sample.width, sample.height
    );
    let inputs: String = (0..windows.len()).map(|i| format!("[{i}:v:0]")).collect();
    let graph = format!("{inputs}concat=n={}:v=1:a=0,{scale}[v]", windows.len());
    command
        .args(["-filter_complex", &graph, "-map", "[v]", "-an"])
        .args(["-c:v", "libx264", "-preset", "veryfast"])
        .args(["-crf", &COMPLEXITY_CRF.to_string()])
        .args(["-g", &sample.gop_frames.to_string()])
        .args(["-f", "h264", "pipe:1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ComplexityError::ToolMissing {
                tool: options.ffmpeg.clone(),
            }
        } else {
            ComplexityError::Io(e)
        }
    })?;
    let mut stdout = child.stdout.take().ok_or_else(|| ComplexityError::Failed {
        detail: "ffmpeg's output is not captured".into(),
    })?;
    let mut stderr = child.stderr.take().ok_or_else(|| ComplexityError::Failed {
        detail: "ffmpeg's errors are not captured".into(),
    })?;
    // Only the encoded size matters: count the bytes rather than keep them.
    let count = async {
        let mut buffer = vec![0_u8; 64 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = stdout.read(&mut buffer).await?;
            if n == 0 {
                break Ok::<u64, std::io::Error>(total);
            }
            total += n as u64;
        }
    };
    let errors = async {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.map(|_| text)
    };
    let work = async {
        let (bytes, text) = tokio::try_join!(count, errors)?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((bytes, text, status))
    };
    let (bytes, text, status) =
        tokio::time::timeout(options.timeout, work)
            .await
            .map_err(|_| ComplexityError::TimedOut {
                seconds: options.timeout.as_secs().max(1),
            })??;
    if !status.success() || bytes == 0 {
        return Err(ComplexityError::Failed {
            detail: crate::probe::last_line(&text),
        });
    }

    let sample_bitrate = (bytes as f64 * 8.0 / seconds).round() as u64;
    let pixels_per_second =
        f64::from(sample.width) * f64::from(sample.height) * sample.frame_rate.max(1.0);
    Ok(Complexity::from_bitrates(
        sample_bitrate,
        sample.video_bitrate,
        sample_bitrate as f64 / pixels_per_second,
    ))
}

/// `(start, length)` windows in seconds covering at most [`COMPLEXITY_SAMPLE_SECONDS`]: all
/// of a short source, else three equal windows centred at 20 %, 50 % and 80 % of it.
fn sample_windows(duration: f64) -> Vec<(f64, f64)> {
    if duration <= COMPLEXITY_SAMPLE_SECONDS {
        return vec![(0.0, duration)];
    }
    let length = COMPLEXITY_SAMPLE_SECONDS / 3.0;
    [0.2, 0.5, 0.8]
        .iter()
        .map(|at| ((duration * at - length / 2.0).max(0.0), length))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_rounds_to_even_and_never_exceeds_the_source() {
        assert_eq!(even(853.33, 1280), 854);
        assert_eq!(even(239.4, 240), 240);
        assert_eq!(even(321.0, 321), 320);
        assert_eq!(even(0.4, 100), 2);
        assert_eq!(even(f64::NAN, 100), 2);
    }

    #[test]
    fn frame_rates_above_60_are_halved() {
        assert_eq!(output_frame_rate(120.0), 60.0);
        assert!((output_frame_rate(119.88) - 59.94).abs() < 1e-9);
        assert_eq!(output_frame_rate(240.0), 60.0);
        assert_eq!(output_frame_rate(60.0), 60.0);
        assert_eq!(output_frame_rate(25.0), 25.0);
    }

    #[test]
    fn short_sources_are_sampled_whole_and_long_ones_in_three_windows() {
        assert_eq!(sample_windows(4.0), vec![(0.0, 4.0)]);
        let windows = sample_windows(600.0);
        assert_eq!(windows.len(), 3);
        assert!(windows
            .iter()
            .all(|(start, len)| *len == 4.0 && start + len <= 600.0));
        assert_eq!(windows[1].0, 298.0);
    }

    #[test]
    fn the_factor_is_clamped() {
        assert_eq!(
            Complexity::from_bitrates(10_000, 365_000, 0.001).factor,
            MIN_PER_TITLE_FACTOR
        );
        assert_eq!(
            Complexity::from_bitrates(3_000_000, 365_000, 0.4).factor,
            1.0
        );
        let half = Complexity::from_bitrates(182_500, 365_000, 0.03);
        assert!((half.factor - 0.5).abs() < 1e-12);
        assert!((half.saved_fraction() - 0.5).abs() < 1e-12);
        assert_eq!(Complexity::from_bitrates(5, 0, 0.0).factor, 1.0);
    }
}
