/** The limits an operation is held to, and which cost limit applies to which caller. */
import type { Viewer } from '../auth.js';
import type { ConfigOf } from '../config.js';
import type { operationLimitSettings } from '../config.js';

/** The operation-limit part of a service's config (every service has it through commonSettings). */
export type OperationLimitsConfig = ConfigOf<typeof operationLimitSettings>;

/** The platform's page size when `first` is not given (connections.ts `pageSize`). */
export const DEFAULT_PAGE_SIZE = 20;

/** The weight of a mutation's root field without a declared `@cost`: writes cost more than reads. */
export const MUTATION_ROOT_WEIGHT = 10;

export type CallerClass = 'anonymous' | 'signed-in' | 'admin';

export function callerClass(viewer: Viewer | null | undefined): CallerClass {
  if (!viewer) return 'anonymous';
  return viewer.role === 'ADMIN' ? 'admin' : 'signed-in';
}

export function costLimitFor(config: OperationLimitsConfig, caller: CallerClass): number {
  if (caller === 'admin') return config.limitMaxCostAdmin;
  return caller === 'signed-in' ? config.limitMaxCostSignedIn : config.limitMaxCostAnonymous;
}
