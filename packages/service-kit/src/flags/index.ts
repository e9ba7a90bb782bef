// Feature flags: definitions and their evaluation, the cache, the OpenFeature provider, exposures,
// and the client every service starts (client.ts explains how they fit).
export {
  evaluateFlag,
  bucketsOf,
  flagFromWire,
  isBooleanFlag,
  offVariant,
  type Evaluation,
  type EvaluationReason,
  type FlagContext,
  type FlagDefinition,
  type FlagRule,
  type FlagVariant,
  type RuleOperator,
} from './definition.js';
export { FlagCache } from './cache.js';
export { CoursegraphFlagProvider } from './provider.js';
export { ExposureCounts, exposureHook, MAX_EXPOSURE_COUNTS, type ExposureCount } from './exposures.js';
export { startFlags, FLAGS_INTERNAL_PATH, type Flags, type FlagsOptions } from './client.js';
export { flagsSettings } from './settings.js';
