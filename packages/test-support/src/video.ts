/**
 * What the video suites share: clips made with FFmpeg's own test sources (no media from elsewhere)
 * and the steps of a tus 1.0 upload to the video subgraph at `videoUrl`.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { eventually } from './eventually.js';

/** An H.264/AAC clip with a test picture and a tone; keep it small: the machine's cores are shared. */
export function makeClip(file: string, seconds = 4, size = '320x240'): void {
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=25:duration=${seconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    file,
  ]);
}

/** tus's Upload-Metadata: `key base64(value)` pairs. */
export const tusMetadata = (metadata: Record<string, string>): string =>
  Object.entries(metadata)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');

export const tusHeaders = (token: string) => ({ 'tus-resumable': '1.0.0', authorization: `Bearer ${token}` });

/** tus creation: POST /uploads; 201 with a Location when accepted. */
export function createUpload(
  videoUrl: string,
  token: string,
  bytes: number,
  metadata: Record<string, string>,
): Promise<Response> {
  return fetch(`${videoUrl}/uploads`, {
    method: 'POST',
    headers: { ...tusHeaders(token), 'upload-length': String(bytes), 'upload-metadata': tusMetadata(metadata) },
  });
}

/** tus PATCH of `chunk` at `offset`, with its SHA-1 (the checksum extension). */
export function patchUpload(
  videoUrl: string,
  location: string,
  token: string,
  offset: number,
  chunk: Buffer,
): Promise<Response> {
  return fetch(`${videoUrl}${location}`, {
    method: 'PATCH',
    headers: {
      ...tusHeaders(token),
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
      'upload-checksum': `sha1 ${crypto.createHash('sha1').update(chunk).digest('base64')}`,
    },
    body: Uint8Array.from(chunk), // a copy typed over ArrayBuffer, as fetch's types ask
  });
}

/**
 * Uploads `file` for a lesson in one PATCH, once video knows the course (it learns the draft's owner
 * from course.course.created, so the first attempts may be refused).
 */
export async function uploadLessonVideo(
  videoUrl: string,
  token: string,
  file: string,
  ids: { courseId: string; lessonId: string },
): Promise<void> {
  const bytes = fs.readFileSync(file);
  const metadata = { ...ids, filename: 'clip.mp4', filetype: 'video/mp4' };
  const created = await eventually('video to know the draft course', async () => {
    const res = await createUpload(videoUrl, token, bytes.length, metadata);
    return res.status === 201 ? res : undefined;
  });
  const location = new URL(created.headers.get('location')!, videoUrl).pathname;
  const done = await patchUpload(videoUrl, location, token, 0, bytes);
  if (done.status !== 204) throw new Error(`upload PATCH answered ${done.status}: ${await done.text()}`);
}
