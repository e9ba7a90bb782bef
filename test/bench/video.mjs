#!/usr/bin/env node
// Video benchmark (npm run bench:video): the video context's media library, release build, on
// media made with FFmpeg's own test sources (rust-subgraphs/video/src/bin/video-bench.rs does the
// measuring; this script builds it, runs it, prints the figures and writes the results files).
//   transcode  x_realtime and CPU seconds per video second of each rendition transcoded alone and of
//              the whole ladder at once (a 1080p25 testsrc2 + sine source, BENCH_VIDEO_SECONDS long);
//              baseline: a plain ffmpeg x264 veryfast encode of the source to one 720p MP4.
//   probe      p50/p99 of coursegraph_video::probe over mp4 (index first and last), mkv, webm, mov,
//              the 1080p source, a truncated file, a WAV and a text file, BENCH_VIDEO_PROBE_ROUNDS
//              rounds; baseline: spawning `ffprobe -version`.
//   upload     mb_per_s through the tus router (LocalStorage, axum on 127.0.0.1) of BENCH_VIDEO_UPLOAD_MB
//              MiB in 8 MiB PATCHes with sha256, and resume_ok after a connection dropped at 50 %;
//              baselines: the bytes written to a file with fsync, and POSTed to a handler that writes them.
//   per-title  bitrate_saved_pct of the per-title ladder against the standard one, with the SSIM of
//              both, for slides and for noisy content (720p, BENCH_VIDEO_PER_TITLE_SECONDS long).
// Knobs (environment): BENCH_VIDEO_SECONDS (20), BENCH_VIDEO_PROBE_ROUNDS (25), BENCH_VIDEO_UPLOAD_MB
// (256), BENCH_VIDEO_PER_TITLE_SECONDS (12), BENCH_VIDEO_PARTS (transcode,probe,upload,per-title; a
// subset only prints its figures, so the committed results stay whole).
// Needs cargo and Debian's ffmpeg; no database or NATS. The release build honours CARGO_TARGET_DIR.
// Writes test/bench/results/video.json and video.md. About 6 minutes here.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ALL_PARTS = 'transcode,probe,upload,per-title';
const env = (name, fallback) => (process.env[name] ? process.env[name] : fallback);
const SETTINGS = {
  source_seconds: Number(env('BENCH_VIDEO_SECONDS', 20)),
  probe_rounds: Number(env('BENCH_VIDEO_PROBE_ROUNDS', 25)),
  upload_mb: Number(env('BENCH_VIDEO_UPLOAD_MB', 256)),
  per_title_seconds: Number(env('BENCH_VIDEO_PER_TITLE_SECONDS', 12)),
  parts: env('BENCH_VIDEO_PARTS', ALL_PARTS),
};
const log = (...args) => console.log('bench:video:', ...args);

log('building the benchmark (release): cargo build --release -p coursegraph-video --bin video-bench');
const build = spawnSync('cargo', ['build', '--release', '-p', 'coursegraph-video', '--bin', 'video-bench'], {
  cwd: path.join(ROOT, 'rust-subgraphs'),
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(1);
const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(ROOT, 'rust-subgraphs', process.env.CARGO_TARGET_DIR)
  : path.join(ROOT, 'rust-subgraphs/target');
const binary = path.join(targetDir, 'release/video-bench');

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-video-'));
const loadBefore = os.loadavg()[0];
const started = Date.now();
let measured;
try {
  log(`running ${path.relative(ROOT, binary)} (${SETTINGS.parts}) in ${scratch}`);
  const out = execFileSync(
    binary,
    [
      scratch,
      String(SETTINGS.source_seconds),
      String(SETTINGS.probe_rounds),
      String(SETTINGS.upload_mb),
      String(SETTINGS.per_title_seconds),
      SETTINGS.parts,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 2 ** 20 },
  );
  measured = JSON.parse(out.toString());
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}

const cpus = os.cpus();
const report = {
  benchmark: 'video',
  date: new Date().toISOString(),
  machine: {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    load_average_before: Math.round(loadBefore * 100) / 100,
    load_average_after: Math.round(os.loadavg()[0] * 100) / 100,
    ffmpeg: measured.tools.ffmpeg,
  },
  settings: {
    ...SETTINGS,
    build: 'release (video-bench, in process; FFmpeg as child processes, as the subgraph runs it)',
    transcode_source: `1920x1080 25 fps testsrc2 + 440 Hz sine, ${SETTINGS.source_seconds} s, x264 CRF 18`,
    transcode_preset: 'veryfast (the library default), every run once',
    cpu: 'transcode and probe: CPU of the child processes (cutime + cstime); upload: the benchmark process (server and client)',
    mb: '1 MiB = 1,048,576 bytes',
    quality: measured.tools.vmaf,
    equal_quality: 'per-title SSIM at most 0.005 below the standard ladder at every rung',
    run_seconds: Math.round((Date.now() - started) / 1000),
  },
  results: [...summaryRows(measured.results), ...measured.results],
};

/**
 * The rows the issue names (`transcode`, `per-title`; `probe` and `upload` are already rows of their
 * own), summarising the detailed ones they are computed from, which follow them.
 */
function summaryRows(results) {
  const rows = [];
  const ladder = results.find((r) => r.name === 'transcode/ladder');
  if (ladder) {
    const renditions = results.filter((r) => /^transcode\/\d+p$/.test(r.name));
    rows.push({
      name: 'transcode',
      x_realtime: ladder.x_realtime,
      x_realtime_per_rendition: Object.fromEntries(
        renditions.map((r) => [r.name.slice('transcode/'.length), r.x_realtime]),
      ),
      cpu_s_per_video_s: ladder.cpu_s_per_video_s,
      baseline_x_realtime: results.find((r) => r.name === 'transcode/baseline-ffmpeg-720p')?.x_realtime ?? null,
    });
  }
  const slides = results.find((r) => r.name === 'per-title/slides');
  if (slides) {
    rows.push({
      name: 'per-title',
      content: slides.content,
      bitrate_saved_pct: slides.bitrate_saved_pct,
      quality_measure: 'SSIM (FFmpeg ssim filter, each rendition against the source scaled to its size)',
      ssim_standard: slides.ssim_standard,
      ssim_per_title: slides.ssim_per_title,
      equal_quality: slides.equal_quality,
      complex_content_saved_pct: results.find((r) => r.name === 'per-title/noise')?.bitrate_saved_pct ?? null,
    });
  }
  return rows;
}

const byName = new Map(report.results.map((r) => [r.name, r]));
const md = [`# Benchmark: video (${report.date.slice(0, 10)})`, ''];
md.push(
  `Machine: ${report.machine.cpus} × ${report.machine.model}, ${report.machine.memory_gb} GB, load average ${report.machine.load_average_before} before the run and ${report.machine.load_average_after} after (the machine is shared); ${report.machine.ffmpeg}. Release build; ${report.settings.run_seconds} s in all.`,
  '',
);
const transcodes = report.results.filter((r) => r.name.startsWith('transcode/'));
if (transcodes.length) {
  md.push(
    `## transcode (${SETTINGS.source_seconds} s of 1080p25 testsrc2 + sine, x264 veryfast, 2 cores)`,
    '',
    '| run | size | x_realtime | wall s | CPU s per video s | cores busy |',
    '|---|---|---:|---:|---:|---:|',
    ...transcodes.map(
      (r) =>
        `| ${r.name.replace('transcode/', '')} | ${r.size ?? (r.renditions ? r.renditions.join(' + ') : '1280x720 MP4')} | ${r.x_realtime} | ${r.wall_s} | ${r.cpu_s_per_video_s} | ${r.cores_busy} |`,
    ),
    '',
    'A rendition alone is a plan of that one rung through the library (HLS fMP4, loudnorm, poster, storyboard, read-back); the ladder is every rung in one ffmpeg, as the worker runs it; the baseline is plain ffmpeg to one 720p MP4 at the 720p rung’s bitrate.',
    '',
  );
}
const probeRow = byName.get('probe');
const probeBase = byName.get('probe/baseline-ffprobe-version');
if (probeRow && probeBase) {
  md.push(
    `## probe (${probeRow.samples} probes over ${probeRow.files.length} files, ${probeRow.wrong_verdicts} wrong verdicts)`,
    '',
    '| run | p50 ms | p99 ms | max ms | CPU ms per op |',
    '|---|---:|---:|---:|---:|',
    `| probe (two ffprobe runs) | ${probeRow.p50_ms} | ${probeRow.p99_ms} | ${probeRow.max_ms} | ${probeRow.cpu_ms_per_op} |`,
    `| baseline: ffprobe -version | ${probeBase.p50_ms} | ${probeBase.p99_ms} | ${probeBase.max_ms} | ${probeBase.cpu_ms_per_op} |`,
    '',
    '| file | bytes | verdict | p50 ms | p99 ms |',
    '|---|---:|---|---:|---:|',
    ...probeRow.files.map((f) => `| ${f.file} | ${f.bytes} | ${f.summary} | ${f.p50_ms} | ${f.p99_ms} |`),
    '',
  );
}
const upload = byName.get('upload');
if (upload) {
  const rows = ['upload', 'upload/baseline-http-post', 'upload/baseline-disk'].map((n) => byName.get(n));
  md.push(
    `## upload (${upload.mb} MiB, ${upload.patches} PATCHes of 8 MiB with sha256; resume_ok: ${upload.resume_ok})`,
    '',
    '| run | MB/s | wall s | CPU ms per MB |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.mb_per_s} | ${r.wall_s} | ${r.cpu_ms_per_mb} |`),
    '',
    '| interrupted upload | cut at byte | HEAD offset | bytes sent again | HEAD after drop ms | sha256 equal |',
    '|---|---:|---:|---:|---:|---|',
    ...upload.resume.map(
      (r) =>
        `| cut PATCH ${r.cut_patch_checksummed ? 'with' : 'without'} checksum | ${r.cut_at_offset} | ${r.head_offset} | ${r.bytes_resent} | ${r.head_after_drop_ms} | ${r.resume_ok} |`,
    ),
    '',
  );
}
const perTitle = report.results.filter((r) => r.name.startsWith('per-title/'));
if (perTitle.length) {
  md.push(
    `## per-title (720p25, ${SETTINGS.per_title_seconds} s, silent; SSIM against the source at each rendition's size; ${measured.tools.vmaf})`,
    '',
    '| content | factor | planned saving % | standard kb/s | per-title kb/s | bitrate saved % | SSIM standard | SSIM per-title | worst rung drop | equal quality |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...perTitle.map(
      (r) =>
        `| ${r.name.replace('per-title/', '')} | ${r.complexity_factor} | ${r.planned_saved_pct} | ${r.standard_kbps} | ${r.per_title_kbps} | ${r.bitrate_saved_pct} | ${r.ssim_standard} | ${r.ssim_per_title} | ${r.ssim_worst_rung_drop} | ${r.equal_quality} |`,
    ),
    '',
    'kb/s: the sum over the ladder’s renditions of their measured bitrates (segments and init, no audio); SSIM: the mean over the rungs; planned saving: of the planned video bitrates.',
    '',
    '| content | rung | planned kb/s, standard → per-title | measured kb/s | SSIM |',
    '|---|---|---:|---:|---:|',
    ...perTitle.flatMap((r) =>
      r.rungs.map(
        (g) =>
          `| ${r.name.replace('per-title/', '')} | ${g.rung} | ${g.standard_planned_kbps} → ${g.per_title_planned_kbps} | ${g.standard_kbps} → ${g.per_title_kbps} | ${g.ssim_standard} → ${g.ssim_per_title} |`,
      ),
    ),
    '',
  );
}

if (SETTINGS.parts === ALL_PARTS) {
  const dir = path.join(ROOT, 'test/bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'video.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'video.md'), md.join('\n'));
  log(`wrote test/bench/results/video.json and video.md\n${md.join('\n')}`);
} else {
  log(
    `${SETTINGS.parts} only: results files left as they are\n${md.join('\n')}\n${JSON.stringify(report.results, null, 2)}`,
  );
}
