import { isUuid } from '@coursegraph/service-kit';

/** An event whose ids are not ids is a producer's bug: fail it, so it is retried and then dead-lettered, visibly. */
export function requireIds(type: string, ids: Record<string, string>): void {
  const bad = Object.entries(ids)
    .filter(([, value]) => !isUuid(value))
    .map(([name]) => name);
  if (bad.length > 0) throw new Error(`${type} without a valid ${bad.join(', ')}`);
}
