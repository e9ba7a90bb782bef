/**
 * The platform's OpenFeature server provider: evaluates from the in-memory cache (no call per
 * evaluation). A flag it does not know, a cache that never loaded (the flags subgraph unreachable
 * since start), or a variant that is not of the asked type all answer the code's default with
 * reason ERROR: a flag problem never breaks the feature's safe default.
 */
import {
  ErrorCode as OpenFeatureErrorCode,
  StandardResolutionReasons,
  type EvaluationContext,
  type Hook,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import type { FlagCache } from './cache.js';
import { evaluateFlag, type Evaluation } from './definition.js';

const failed = <T>(value: T, errorCode: OpenFeatureErrorCode, errorMessage: string): ResolutionDetails<T> => ({
  value,
  reason: StandardResolutionReasons.ERROR,
  errorCode,
  errorMessage,
});

export class CoursegraphFlagProvider implements Provider {
  readonly metadata = { name: 'coursegraph-flags' } as const;
  readonly runsOn = 'server' as const;

  constructor(
    private readonly cache: FlagCache,
    readonly hooks: Hook[] = [],
  ) {}

  private evaluate(flagKey: string, context: EvaluationContext): Evaluation | { error: ResolutionDetails<null> } {
    if (!this.cache.loaded)
      return { error: failed(null, OpenFeatureErrorCode.PROVIDER_NOT_READY, 'the flags have not been loaded yet') };
    const flag = this.cache.get(flagKey);
    if (!flag) return { error: failed(null, OpenFeatureErrorCode.FLAG_NOT_FOUND, `no flag named ${flagKey}`) };
    return evaluateFlag(flag, context);
  }

  resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    const result = this.evaluate(flagKey, context);
    if ('error' in result) return Promise.resolve({ ...result.error, value: defaultValue });
    if (result.variant !== 'on' && result.variant !== 'off')
      return Promise.resolve(
        failed(defaultValue, OpenFeatureErrorCode.TYPE_MISMATCH, `${flagKey} is not a boolean (on/off) flag`),
      );
    return Promise.resolve({ value: result.variant === 'on', variant: result.variant, reason: result.reason });
  }

  resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    const result = this.evaluate(flagKey, context);
    if ('error' in result) return Promise.resolve({ ...result.error, value: defaultValue });
    return Promise.resolve({ value: result.variant, variant: result.variant, reason: result.reason });
  }

  // Variants are names: a number or an object flag is a type this provider does not serve.
  resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return Promise.resolve(failed(defaultValue, OpenFeatureErrorCode.TYPE_MISMATCH, `${flagKey}: variants are names`));
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return Promise.resolve(failed(defaultValue, OpenFeatureErrorCode.TYPE_MISMATCH, `${flagKey}: variants are names`));
  }
}
