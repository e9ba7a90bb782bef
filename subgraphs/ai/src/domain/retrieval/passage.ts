import { createHash } from 'node:crypto';
import type { SourcePassage } from '../../providers/provider.js';

/** A passage with the course it belongs to: every index is scoped to one course. */
export interface CoursePassage extends SourcePassage {
  courseId: string;
}

/**
 * A passage's id: a name-based UUID (version 5 layout, SHA-1) of its lesson, source and ordinal, so
 * chunking the same text again gives the same ids (an upsert changes nothing, citations stay valid)
 * and the id fits a uuid column.
 */
export function passageId(lessonId: string, source: SourcePassage['source'], ordinal: number): string {
  const digest = createHash('sha1')
    .update(`coursegraph.ai.passage\u0000${lessonId}\u0000${source}\u0000${ordinal}`)
    .digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50; // version 5
  digest[8] = (digest[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
