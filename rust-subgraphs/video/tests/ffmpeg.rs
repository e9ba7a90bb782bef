//! Probe, ladder and transcode against media made with FFmpeg's own test sources (`testsrc2`,
//! `sine`, `smptebars`) in temporary folders.

use std::path::{Path, PathBuf};
use std::process::Command;

use coursegraph_video::ladder::{
    gop_frames, measure_complexity, plan_ladder, ComplexityOptions, LadderOptions, Rendition,
};
use coursegraph_video::probe::{probe, ProbeError, ProbeOptions, VideoProbe};
use coursegraph_video::transcode::{
    transcode, CancelToken, TranscodeError, TranscodeOptions, TranscodeRequest,
};
use tempfile::TempDir;

/// Runs ffmpeg with `args` (quiet, overwriting) and panics with its errors if it fails.
fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        output.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `seconds`-long `width`×`height` testsrc2 at `fps` with a 440 Hz stereo 48 kHz tone,
/// H.264 + AAC in MP4, written to `dir/name`. `extra` goes before the output (e.g.
/// `-movflags +faststart`).
fn make_video(
    dir: &Path,
    name: &str,
    width: u32,
    height: u32,
    fps: u32,
    seconds: u32,
    extra: &[&str],
) -> PathBuf {
    let path = dir.join(name);
    let video = format!("testsrc2=size={width}x{height}:rate={fps}:duration={seconds}");
    let audio = format!("sine=frequency=440:sample_rate=48000:duration={seconds}");
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        &video,
        "-f",
        "lavfi",
        "-i",
        &audio,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-ac",
        "2",
    ];
    args.extend_from_slice(extra);
    let out = path.to_str().expect("utf-8 path");
    args.push(out);
    ffmpeg(&args);
    path
}

fn options() -> ProbeOptions {
    ProbeOptions::default()
}

/// The first `fraction` of `source`'s bytes, written to `dir/name`.
fn truncate_copy(source: &Path, dir: &Path, name: &str, fraction: f64) -> PathBuf {
    let bytes = std::fs::read(source).expect("the source is readable");
    let cut = (bytes.len() as f64 * fraction) as usize;
    let path = dir.join(name);
    std::fs::write(&path, &bytes[..cut]).expect("the copy is written");
    path
}

// ---------------------------------------------------------------- probe

#[tokio::test]
async fn probe_reports_the_exact_figures_of_a_640x360_30fps_mp4() {
    let dir = TempDir::new().unwrap();
    let file = make_video(dir.path(), "a.mp4", 640, 360, 30, 2, &[]);
    let probe = probe(&file, &options()).await.unwrap();
    assert_eq!(probe.width, 640);
    assert_eq!(probe.height, 360);
    assert_eq!((probe.display_width, probe.display_height), (640, 360));
    assert_eq!(probe.rotation, 0);
    assert!(!probe.is_portrait());
    assert_eq!(probe.video_codec, "h264");
    assert_eq!(probe.pixel_format.as_deref(), Some("yuv420p"));
    assert_eq!(probe.frame_rate, 30.0);
    assert!(
        (probe.duration_seconds - 2.0).abs() <= 1.0 / 30.0,
        "duration {}",
        probe.duration_seconds
    );
    assert_eq!(probe.start_seconds, 0.0);
    assert_eq!(probe.audio_codec.as_deref(), Some("aac"));
    assert_eq!(probe.audio_channels, Some(2));
    assert_eq!(probe.audio_sample_rate, Some(48_000));
    assert!(probe.container.split(',').any(|f| f == "mp4"));
    let size = std::fs::metadata(&file).unwrap().len();
    assert_eq!(probe.size_bytes, size);
    // The container's bitrate is its size over its duration, to within its header's rounding.
    let expected = size as f64 * 8.0 / probe.duration_seconds;
    assert!(
        (probe.bitrate as f64 - expected).abs() / expected < 0.01,
        "bitrate {}",
        probe.bitrate
    );
    assert!(probe
        .video_bitrate
        .is_some_and(|b| b > 0 && b < probe.bitrate));
}

#[tokio::test]
async fn probe_reads_a_portrait_source_and_a_rotated_phone_video() {
    let dir = TempDir::new().unwrap();
    let portrait = make_video(dir.path(), "portrait.mp4", 360, 640, 25, 1, &[]);
    let probe_p = probe(&portrait, &options()).await.unwrap();
    assert_eq!((probe_p.width, probe_p.height), (360, 640));
    assert_eq!((probe_p.display_width, probe_p.display_height), (360, 640));
    assert!(probe_p.is_portrait());
    assert_eq!(probe_p.frame_rate, 25.0);

    // A phone stores portrait video as a landscape picture with a rotation.
    let landscape = make_video(dir.path(), "landscape.mp4", 640, 360, 30, 1, &[]);
    let rotated = dir.path().join("rotated.mp4");
    ffmpeg(&[
        "-i",
        landscape.to_str().unwrap(),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        rotated.to_str().unwrap(),
    ]);
    let probe_r = probe(&rotated, &options()).await.unwrap();
    assert_eq!((probe_r.width, probe_r.height), (640, 360));
    assert_eq!(probe_r.rotation, 90);
    assert_eq!((probe_r.display_width, probe_r.display_height), (360, 640));
    assert!(probe_r.is_portrait());
}

#[tokio::test]
async fn a_text_file_is_not_media() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("notes.mp4");
    std::fs::write(
        &file,
        "These are my lecture notes, not a video.\n".repeat(50),
    )
    .unwrap();
    let error = probe(&file, &options()).await.unwrap_err();
    assert!(matches!(error, ProbeError::NotMedia), "{error:?}");
    assert!(error.is_bad_file());
    assert!(error.to_string().contains("not a video"), "{error}");

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        probe(&empty, &options()).await,
        Err(ProbeError::NotMedia)
    ));
}

#[tokio::test]
async fn a_wav_and_a_png_have_no_video_stream() {
    let dir = TempDir::new().unwrap();
    let wav = dir.path().join("tone.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=1",
        wav.to_str().unwrap(),
    ]);
    let error = probe(&wav, &options()).await.unwrap_err();
    let ProbeError::NoVideoStream { ref found } = error else {
        panic!("expected NoVideoStream, got {error:?}");
    };
    assert!(
        found.contains("audio file") && found.contains("pcm_s16le"),
        "{found}"
    );
    assert!(error.to_string().contains("has no video"), "{error}");

    let png = dir.path().join("still.png");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x64",
        "-frames:v",
        "1",
        png.to_str().unwrap(),
    ]);
    let error = probe(&png, &options()).await.unwrap_err();
    let ProbeError::NoVideoStream { ref found } = error else {
        panic!("expected NoVideoStream, got {error:?}");
    };
    assert!(found.contains("still image"), "{found}");
}

#[tokio::test]
async fn a_file_cut_at_half_its_bytes_is_truncated_whether_its_index_is_first_or_last() {
    let dir = TempDir::new().unwrap();
    // ffmpeg's default MP4 puts the index (moov) at the end: cut, it is gone.
    let last = make_video(dir.path(), "index-last.mp4", 640, 360, 30, 2, &[]);
    let cut = truncate_copy(&last, dir.path(), "index-last-50.mp4", 0.5);
    let error = probe(&cut, &options()).await.unwrap_err();
    assert!(matches!(error, ProbeError::Truncated { .. }), "{error:?}");

    // With faststart the index comes first and still announces 2 s: the data stops at ~1 s.
    let first = make_video(
        dir.path(),
        "index-first.mp4",
        640,
        360,
        30,
        2,
        &["-movflags", "+faststart"],
    );
    probe(&first, &options())
        .await
        .expect("the whole file is fine");
    let cut = truncate_copy(&first, dir.path(), "index-first-50.mp4", 0.5);
    let error = probe(&cut, &options()).await.unwrap_err();
    let ProbeError::Truncated { ref detail } = error else {
        panic!("expected Truncated, got {error:?}");
    };
    assert!(detail.contains("of the 2.0 s"), "{detail}");
    assert!(error.to_string().contains("upload it again"), "{error}");

    // Matroska writes its duration at the start too.
    let mkv = dir.path().join("a.mkv");
    ffmpeg(&[
        "-i",
        first.to_str().unwrap(),
        "-c",
        "copy",
        mkv.to_str().unwrap(),
    ]);
    probe(&mkv, &options())
        .await
        .expect("the whole file is fine");
    let cut = truncate_copy(&mkv, dir.path(), "a-50.mkv", 0.5);
    let error = probe(&cut, &options()).await.unwrap_err();
    assert!(matches!(error, ProbeError::Truncated { .. }), "{error:?}");
}

#[tokio::test]
async fn a_damaged_header_is_corrupt() {
    let dir = TempDir::new().unwrap();
    let file = make_video(
        dir.path(),
        "a.mp4",
        320,
        180,
        30,
        1,
        &["-movflags", "+faststart"],
    );
    let mut bytes = std::fs::read(&file).unwrap();
    // Overwrite the start of the index (moov follows the 32-byte ftyp box) with a fixed
    // pattern: the container is still recognised, but its streams are gone.
    for b in &mut bytes[40..340] {
        *b = 0x5a;
    }
    let damaged = dir.path().join("damaged.mp4");
    std::fs::write(&damaged, &bytes).unwrap();
    let error = probe(&damaged, &options()).await.unwrap_err();
    assert!(matches!(error, ProbeError::Corrupt { .. }), "{error:?}");
    assert!(error.is_bad_file());
}

#[tokio::test]
async fn a_playlist_is_refused_before_ffmpeg_follows_it() {
    let dir = TempDir::new().unwrap();
    let video = make_video(dir.path(), "a.mp4", 320, 180, 30, 1, &[]);
    let playlist = dir.path().join("upload.bin");
    std::fs::write(
        &playlist,
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{}\n#EXT-X-ENDLIST\n",
            video.display()
        ),
    )
    .unwrap();
    let error = probe(&playlist, &options()).await.unwrap_err();
    let ProbeError::UnsupportedFormat { ref format } = error else {
        panic!("expected UnsupportedFormat, got {error:?}");
    };
    assert_eq!(format, "hls");
}

#[tokio::test]
async fn missing_files_folders_and_tools_get_clear_errors() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nothing-here.mp4");
    let error = probe(&missing, &options()).await.unwrap_err();
    assert!(
        matches!(error, ProbeError::Missing { ref path } if *path == missing),
        "{error:?}"
    );
    assert!(error.to_string().contains("nothing-here.mp4"));

    let error = probe(dir.path(), &options()).await.unwrap_err();
    assert!(matches!(error, ProbeError::NotAFile { .. }), "{error:?}");

    let file = make_video(dir.path(), "a.mp4", 320, 180, 30, 1, &[]);
    let no_tool = ProbeOptions {
        ffprobe: dir.path().join("no-such-ffprobe"),
        ..ProbeOptions::default()
    };
    let error = probe(&file, &no_tool).await.unwrap_err();
    assert!(matches!(error, ProbeError::ToolMissing { .. }), "{error:?}");
    assert!(!error.is_bad_file());
}

#[tokio::test]
async fn a_hung_ffprobe_is_killed_at_the_timeout() {
    let dir = TempDir::new().unwrap();
    let file = make_video(dir.path(), "a.mp4", 320, 180, 30, 1, &[]);
    // A stand-in ffprobe that never answers.
    let script = dir.path().join("hung-ffprobe");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success());
    let hung = ProbeOptions {
        ffprobe: script,
        timeout: std::time::Duration::from_millis(300),
    };
    // A freshly written script can be briefly "busy" (ETXTBSY) while another test's child
    // still holds it from a fork; retry that case only.
    let mut result = probe(&file, &hung).await;
    for _ in 0..20 {
        match &result {
            Err(ProbeError::Io { source, .. }) if source.raw_os_error() == Some(26) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                result = probe(&file, &hung).await;
            }
            _ => break,
        }
    }
    assert!(
        matches!(result, Err(ProbeError::TimedOut { .. })),
        "{result:?}"
    );
}

// ---------------------------------------------------------------- ladder

/// A probe as a 30 fps file of `width`×`height` with audio would give.
fn probe_of(width: u32, height: u32, frame_rate: f64) -> VideoProbe {
    VideoProbe {
        container: "mov,mp4,m4a,3gp,3g2,mj2".into(),
        duration_seconds: 60.0,
        start_seconds: 0.0,
        width,
        height,
        rotation: 0,
        display_width: width,
        display_height: height,
        video_codec: "h264".into(),
        pixel_format: Some("yuv420p".into()),
        frame_rate,
        bitrate: 10_000_000,
        video_bitrate: Some(9_800_000),
        audio_codec: Some("aac".into()),
        audio_channels: Some(2),
        audio_sample_rate: Some(48_000),
        size_bytes: 75_000_000,
    }
}

/// `(name, width, height, video kb/s, audio kb/s)` of each rendition.
fn summary(ladder: &[Rendition]) -> Vec<(String, u32, u32, u64, Option<u32>)> {
    ladder
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.width,
                r.height,
                r.video_bitrate / 1000,
                r.audio_bitrate.map(|a| a / 1000),
            )
        })
        .collect()
}

fn row(name: &str, w: u32, h: u32, video: u64, audio: u32) -> (String, u32, u32, u64, Option<u32>) {
    (name.to_owned(), w, h, video, Some(audio))
}

#[test]
fn a_4k_source_gets_every_rung() {
    let ladder = plan_ladder(&probe_of(3840, 2160, 30.0), &LadderOptions::default());
    assert_eq!(
        summary(&ladder),
        vec![
            row("240p", 426, 240, 145, 96),
            row("360p", 640, 360, 365, 96),
            row("480p", 854, 480, 1400, 128),
            row("720p", 1280, 720, 3000, 128),
            row("1080p", 1920, 1080, 6000, 128),
            row("1440p", 2560, 1440, 10800, 128),
            row("2160p", 3840, 2160, 15500, 128),
        ]
    );
    for r in &ladder {
        assert_eq!(r.frame_rate, 30.0);
        assert_eq!(r.gop_frames, 60);
        assert_eq!(r.video_max_bitrate, r.video_bitrate * 11 / 10);
    }
    // Capped at Apple's H.264 level 4.2.
    let capped = plan_ladder(
        &probe_of(3840, 2160, 30.0),
        &LadderOptions {
            max_rung: 1080,
            ..LadderOptions::default()
        },
    );
    assert_eq!(
        capped.last().map(|r| (r.width, r.height)),
        Some((1920, 1080))
    );
    assert_eq!(capped.len(), 5);
}

#[test]
fn a_720p_source_stops_at_720p() {
    let ladder = plan_ladder(&probe_of(1280, 720, 30.0), &LadderOptions::default());
    assert_eq!(
        summary(&ladder),
        vec![
            row("240p", 426, 240, 145, 96),
            row("360p", 640, 360, 365, 96),
            row("480p", 854, 480, 1400, 128),
            row("720p", 1280, 720, 3000, 128),
        ]
    );
}

#[test]
fn a_portrait_source_is_laddered_by_its_short_side() {
    let ladder = plan_ladder(&probe_of(1080, 1920, 30.0), &LadderOptions::default());
    assert_eq!(
        summary(&ladder),
        vec![
            row("240p", 240, 426, 145, 96),
            row("360p", 360, 640, 365, 96),
            row("480p", 480, 854, 1400, 128),
            row("720p", 720, 1280, 3000, 128),
            row("1080p", 1080, 1920, 6000, 128),
        ]
    );
    // A rotated phone video is planned from its displayed size.
    let mut phone = probe_of(1920, 1080, 30.0);
    phone.rotation = 90;
    (phone.display_width, phone.display_height) = (1080, 1920);
    assert_eq!(plan_ladder(&phone, &LadderOptions::default()), ladder);
}

#[test]
fn odd_sizes_small_sources_and_silent_ones() {
    // Smaller than 240p: one rendition at its own size (odd pixels dropped).
    let tiny = plan_ladder(&probe_of(321, 181, 30.0), &LadderOptions::default());
    assert_eq!(tiny.len(), 1);
    assert_eq!((tiny[0].width, tiny[0].height), (320, 180));
    // Its bitrate is the 240p rate scaled by its share of the 426x240 box.
    assert_eq!(tiny[0].video_bitrate, 82_000);

    // A 4:3 source fits each box by its height; an ultra-wide one by its width.
    let four_three = plan_ladder(&probe_of(1440, 1080, 30.0), &LadderOptions::default());
    assert_eq!(
        four_three
            .iter()
            .map(|r| (r.width, r.height))
            .collect::<Vec<_>>(),
        vec![(320, 240), (480, 360), (640, 480), (960, 720), (1440, 1080)]
    );
    assert_eq!(four_three[4].video_bitrate, 4_500_000);
    let wide = plan_ladder(&probe_of(1920, 800, 30.0), &LadderOptions::default());
    assert_eq!(
        wide.last().map(|r| (r.name.as_str(), r.width, r.height)),
        Some(("1080p", 1920, 800))
    );
    assert!(wide.iter().all(|r| r.width % 2 == 0 && r.height % 2 == 0));

    let mut silent = probe_of(640, 360, 30.0);
    silent.audio_codec = None;
    assert!(plan_ladder(&silent, &LadderOptions::default())
        .iter()
        .all(|r| r.audio_bitrate.is_none()));
}

#[test]
fn key_frames_every_two_seconds() {
    assert_eq!(gop_frames(25.0), 50);
    assert_eq!(gop_frames(30.0), 60);
    assert_eq!(gop_frames(30_000.0 / 1001.0), 60);
    assert_eq!(gop_frames(60.0), 120);
    assert_eq!(gop_frames(0.0), 1);
    // 60 fps raises the rate by 30 %; 120 fps is halved to 60.
    let sixty = plan_ladder(&probe_of(1280, 720, 60.0), &LadderOptions::default());
    assert_eq!(sixty[3].video_bitrate, 3_900_000);
    assert_eq!(sixty[3].gop_frames, 120);
    let fast = plan_ladder(&probe_of(1280, 720, 120.0), &LadderOptions::default());
    assert_eq!(fast[3].frame_rate, 60.0);
    assert_eq!(fast[3].gop_frames, 120);
}

#[tokio::test]
async fn per_title_judges_a_static_picture_simpler_than_a_noisy_one() {
    let dir = TempDir::new().unwrap();
    // A slide-like source: static colour bars with a tone.
    let still = dir.path().join("still.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "smptebars=size=640x360:rate=30:duration=3",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        still.to_str().unwrap(),
    ]);
    // A busy one: moving test pattern under strong temporal noise.
    let busy = dir.path().join("busy.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30:duration=3",
        "-vf",
        "noise=alls=60:allf=t",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        busy.to_str().unwrap(),
    ]);
    let still_probe = probe(&still, &options()).await.unwrap();
    let busy_probe = probe(&busy, &options()).await.unwrap();
    let still_c = measure_complexity(&still, &still_probe, &ComplexityOptions::default())
        .await
        .unwrap();
    let busy_c = measure_complexity(&busy, &busy_probe, &ComplexityOptions::default())
        .await
        .unwrap();
    println!("still: {still_c:?}\nbusy: {busy_c:?}");
    assert!(still_c.bits_per_pixel < busy_c.bits_per_pixel);
    assert!(still_c.factor < busy_c.factor);
    assert_eq!(busy_c.reference_bitrate, 365_000);

    let plain = plan_ladder(&still_probe, &LadderOptions::default());
    let per_title = plan_ladder(
        &still_probe,
        &LadderOptions {
            per_title: Some(still_c.clone()),
            ..LadderOptions::default()
        },
    );
    let busy_per_title = plan_ladder(
        &busy_probe,
        &LadderOptions {
            per_title: Some(busy_c),
            ..LadderOptions::default()
        },
    );
    assert_eq!(plain.len(), per_title.len());
    for ((p, t), b) in plain.iter().zip(&per_title).zip(&busy_per_title) {
        assert_eq!((p.width, p.height), (t.width, t.height));
        assert!(t.video_bitrate < p.video_bitrate, "{t:?} vs {p:?}");
        assert!(t.video_bitrate < b.video_bitrate);
        assert!(t.video_bitrate as f64 >= p.video_bitrate as f64 * 0.4 - 1000.0);
    }
    assert!(still_c.saved_fraction() > 0.0);
}

// ---------------------------------------------------------------- transcode

/// The presentation times of the key frames of `playlist`'s video, in seconds.
fn key_frame_times(playlist: &Path) -> Vec<f64> {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-skip_frame",
            "nokey",
        ])
        .args(["-show_entries", "frame=pts_time", "-of", "csv=p=0"])
        .arg(playlist)
        .output()
        .expect("ffprobe runs");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split(',').next()?.trim().parse().ok())
        .collect()
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the folder is readable")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_4s_source_becomes_a_two_rendition_hls_ladder_that_reads_back() {
    let dir = TempDir::new().unwrap();
    let source = make_video(dir.path(), "source.mp4", 640, 360, 30, 4, &[]);
    let probe = probe(&source, &options()).await.unwrap();
    let plan = plan_ladder(&probe, &LadderOptions::default());
    assert_eq!(
        plan.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["240p", "360p"]
    );
    let videos = dir.path().join("videos");
    let destination = videos.join("lesson-1");
    // A partial folder left by a run that was killed outright.
    std::fs::create_dir_all(videos.join(".lesson-1.partial-killed/240p")).unwrap();

    let mut fractions = Vec::new();
    let output = transcode(
        &TranscodeRequest {
            source: &source,
            probe: &probe,
            renditions: &plan,
            destination: &destination,
        },
        &TranscodeOptions::default(),
        |f| fractions.push(f),
        &CancelToken::new(),
    )
    .await
    .unwrap();
    println!(
        "transcode of {:.1} s into {} renditions: {:.2} s, {:.2}x realtime",
        output.duration_seconds,
        output.renditions.len(),
        output.encode_seconds,
        output.x_realtime()
    );

    // Progress rises to exactly 1.
    assert_eq!(fractions.last(), Some(&1.0));
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
    assert!(fractions.iter().all(|f| (0.0..=1.0).contains(f)));

    // Only the destination is left: the stale partial folder is gone too.
    assert_eq!(listing(&videos), ["lesson-1"]);
    assert_eq!(output.directory, destination);
    let files = listing(&destination);
    for expected in [
        "240p",
        "360p",
        "master.m3u8",
        "poster.jpg",
        "storyboard.jpg",
        "storyboard.vtt",
    ] {
        assert!(
            files.contains(&expected.to_owned()),
            "{expected} missing from {files:?}"
        );
    }

    // Each rendition: planned size, the source's duration, key frames every 2 s.
    assert_eq!(output.renditions.len(), 2);
    for (produced, planned) in output.renditions.iter().zip(&plan) {
        assert_eq!(
            (produced.width, produced.height),
            (planned.width, planned.height)
        );
        assert!(
            (produced.duration_seconds - 4.0).abs() <= 0.1,
            "{produced:?}"
        );
        assert!(produced.bitrate > 0);
        assert_eq!(produced.segment_count, 1);
        assert!(produced
            .codecs
            .as_deref()
            .is_some_and(|c| c.starts_with("avc1.64") && c.contains("mp4a.40.2")));
        let playlist = destination.join(&produced.playlist);
        let keys = key_frame_times(&playlist);
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!((keys[1] - keys[0] - 2.0).abs() < 0.01, "{keys:?}");
    }

    // FFmpeg reads the master playlist end to end: both renditions, 4 s each.
    let read = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,width,height:format=duration",
        ])
        .args(["-of", "json"])
        .arg(destination.join("master.m3u8"))
        .output()
        .unwrap();
    assert!(read.status.success());
    let json: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    let mut sizes: Vec<(u64, u64)> = json["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] == "video")
        .map(|s| (s["width"].as_u64().unwrap(), s["height"].as_u64().unwrap()))
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [(426, 240), (640, 360)]);
    let duration: f64 = json["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((duration - 4.0).abs() <= 0.1, "{duration}");

    // Poster at the top rendition's size; the sprite holds the storyboard's grid.
    let image_size = |file: &str| {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=width,height",
                "-of",
                "csv=p=0",
            ])
            .arg(destination.join(file))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(image_size("poster.jpg"), "640,360");
    let board = &output.storyboard;
    assert_eq!(
        (
            board.interval_seconds,
            board.count,
            board.columns,
            board.rows
        ),
        (2, 2, 2, 1)
    );
    assert_eq!(
        image_size("storyboard.jpg"),
        format!("{},{}", 2 * board.thumbnail_width, board.thumbnail_height)
    );
    let vtt = std::fs::read_to_string(destination.join("storyboard.vtt")).unwrap();
    assert_eq!(
        vtt,
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg#xywh=0,0,160,90\n\n00:00:02.000 --> 00:00:04.000\nstoryboard.jpg#xywh=160,0,160,90\n"
    );

    // Audio was normalised towards -16 LUFS: measure the 360p rendition's loudness.
    let measure = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "info", "-hide_banner", "-i"])
        .arg(destination.join("360p/index.m3u8"))
        .args(["-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&measure.stderr);
    let integrated: f64 = log
        .rsplit_once("I:")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .expect("ebur128 summary");
    println!("integrated loudness of the 360p audio: {integrated} LUFS");
    assert!((integrated - -16.0).abs() < 3.0, "{integrated} LUFS");
}

#[tokio::test]
async fn a_cancelled_transcode_leaves_no_output() {
    let dir = TempDir::new().unwrap();
    let source = make_video(dir.path(), "source.mp4", 640, 360, 30, 4, &[]);
    let probe = probe(&source, &options()).await.unwrap();
    let plan = plan_ladder(&probe, &LadderOptions::default());
    let videos = dir.path().join("videos");
    let destination = videos.join("lesson-2");
    let cancel = CancelToken::new();
    let canceller = cancel.clone();
    // Cancel at the first progress report, while ffmpeg is running.
    let result = transcode(
        &TranscodeRequest {
            source: &source,
            probe: &probe,
            renditions: &plan,
            destination: &destination,
        },
        &TranscodeOptions {
            preset: "medium".into(),
            ..TranscodeOptions::default()
        },
        move |_| canceller.cancel(),
        &cancel,
    )
    .await;
    assert!(
        matches!(result, Err(TranscodeError::Cancelled)),
        "{result:?}"
    );
    assert!(listing(&videos).is_empty(), "{:?}", listing(&videos));

    // A token cancelled before the start stops it too.
    let result = transcode(
        &TranscodeRequest {
            source: &source,
            probe: &probe,
            renditions: &plan,
            destination: &destination,
        },
        &TranscodeOptions::default(),
        |_| {},
        &cancel,
    )
    .await;
    assert!(
        matches!(result, Err(TranscodeError::Cancelled)),
        "{result:?}"
    );
    assert!(listing(&videos).is_empty());
}

#[tokio::test]
async fn a_truncated_source_fails_cleanly_and_keeps_the_previous_output() {
    let dir = TempDir::new().unwrap();
    let source = make_video(
        dir.path(),
        "source.mp4",
        320,
        180,
        30,
        4,
        &["-movflags", "+faststart"],
    );
    let probe = probe(&source, &options()).await.unwrap();
    let plan = plan_ladder(&probe, &LadderOptions::default());
    let cut = truncate_copy(&source, dir.path(), "cut.mp4", 0.5);
    let videos = dir.path().join("videos");
    let destination = videos.join("lesson-3");
    // What an earlier, successful run left: it must survive the failed one.
    std::fs::create_dir_all(&destination).unwrap();
    std::fs::write(destination.join("master.m3u8"), "#EXTM3U\n").unwrap();

    // The probe of the whole file, as if the file was cut after it was probed.
    let result = transcode(
        &TranscodeRequest {
            source: &cut,
            probe: &probe,
            renditions: &plan,
            destination: &destination,
        },
        &TranscodeOptions::default(),
        |_| {},
        &CancelToken::new(),
    )
    .await;
    let Err(error) = result else {
        panic!("a truncated source transcoded")
    };
    println!("truncated source: {error}");
    assert!(
        matches!(
            error,
            TranscodeError::SourceTruncated { .. } | TranscodeError::Incomplete { .. }
        ),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(listing(&videos), ["lesson-3"]);
    assert_eq!(listing(&destination), ["master.m3u8"]);
    assert_eq!(
        std::fs::read_to_string(destination.join("master.m3u8")).unwrap(),
        "#EXTM3U\n"
    );
}

#[tokio::test]
async fn invalid_plans_are_refused_before_anything_is_written() {
    let dir = TempDir::new().unwrap();
    let source = make_video(dir.path(), "source.mp4", 320, 180, 30, 1, &[]);
    let probe = probe(&source, &options()).await.unwrap();
    let mut plan = plan_ladder(&probe, &LadderOptions::default());
    plan[0].name = "../escape".into();
    let destination = dir.path().join("videos").join("lesson-4");
    let result = transcode(
        &TranscodeRequest {
            source: &source,
            probe: &probe,
            renditions: &plan,
            destination: &destination,
        },
        &TranscodeOptions::default(),
        |_| {},
        &CancelToken::new(),
    )
    .await;
    assert!(
        matches!(result, Err(TranscodeError::InvalidRequest { .. })),
        "{result:?}"
    );
    let result = transcode(
        &TranscodeRequest {
            source: &source,
            probe: &probe,
            renditions: &[],
            destination: &destination,
        },
        &TranscodeOptions::default(),
        |_| {},
        &CancelToken::new(),
    )
    .await;
    assert!(
        matches!(result, Err(TranscodeError::InvalidRequest { .. })),
        "{result:?}"
    );
    assert!(!dir.path().join("videos").exists());
}

#[tokio::test]
async fn a_small_silent_rotated_source_gets_one_upright_rendition_without_audio() {
    let dir = TempDir::new().unwrap();
    let stored = dir.path().join("stored.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=25:duration=2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        stored.to_str().unwrap(),
    ]);
    let source = dir.path().join("rotated.mp4");
    ffmpeg(&[
        "-i",
        stored.to_str().unwrap(),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        source.to_str().unwrap(),
    ]);
    let probe = probe(&source, &options()).await.unwrap();
    assert_eq!(probe.audio_codec, None);
    let plan = plan_ladder(&probe, &LadderOptions::default());
    assert_eq!(plan.len(), 1);
    assert_eq!((plan[0].width, plan[0].height), (180, 320));
    assert_eq!(plan[0].audio_bitrate, None);
    assert_eq!(plan[0].gop_frames, 50);

    let destination = dir.path().join("out");
    let output = transcode(
        &TranscodeRequest {
            source: &source,
            probe: &probe,
            renditions: &plan,
            destination: &destination,
        },
        &TranscodeOptions::default(),
        |_| {},
        &CancelToken::new(),
    )
    .await
    .unwrap();
    let rendition = &output.renditions[0];
    // FFmpeg turned the picture upright: the rendition is portrait, as planned.
    assert_eq!((rendition.width, rendition.height), (180, 320));
    assert!((rendition.duration_seconds - 2.0).abs() <= 0.1);
    let codecs = rendition.codecs.as_deref().unwrap_or_default();
    assert!(
        codecs.starts_with("avc1.") && !codecs.contains("mp4a"),
        "{codecs}"
    );
    assert_eq!(
        (
            output.storyboard.thumbnail_width,
            output.storyboard.thumbnail_height
        ),
        (90, 160)
    );
}
