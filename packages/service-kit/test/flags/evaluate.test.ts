/**
 * How a flag is evaluated (packages/service-kit/src/flags/definition.ts), with no I/O: the kill
 * switch beats everything, rules by role and attribute come before the rollout, the rollout is
 * sticky per subject and splits subjects as the weights say.
 */
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { bucketsOf, evaluateFlag, flagFromWire, offVariant, type FlagDefinition } from '../../src/flags/definition.js';

const flag = (over: Partial<FlagDefinition> = {}): FlagDefinition => ({
  key: 'catalog-ranking',
  description: '',
  enabled: true,
  defaultVariant: 'newest',
  variants: [
    { key: 'newest', weight: 50 },
    { key: 'popular', weight: 50 },
  ],
  rolloutPercent: 100,
  rules: [],
  version: 1,
  updatedAt: '2026-12-07T00:00:00.000Z',
  updatedBy: null,
  deleted: false,
  ...over,
});

const onOff = (over: Partial<FlagDefinition> = {}) =>
  flag({
    key: 'tutor',
    defaultVariant: 'on',
    variants: [
      { key: 'on', weight: 100 },
      { key: 'off', weight: 0 },
    ],
    ...over,
  });

// Fixed subjects: the hash is deterministic, so the distribution checks cannot flake.
const subjects = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);

describe('sticky percentage rollout', () => {
  it('gives the same subject the same variant every time, and another flag its own buckets', () => {
    const f = flag({ rolloutPercent: 37 });
    for (const subject of subjects(200)) {
      const first = evaluateFlag(f, { targetingKey: subject });
      for (let i = 0; i < 3; i++) expect(evaluateFlag(f, { targetingKey: subject })).toEqual(first);
    }
    const spread = subjects(500).filter(
      (s) => bucketsOf('catalog-ranking', s).rollout !== bucketsOf('other-flag', s).rollout,
    );
    expect(spread.length).toBeGreaterThan(400);
  });

  it('puts rolloutPercent of 10,000 subjects in the rollout, split by weight, within 2 points', () => {
    const f = flag({
      rolloutPercent: 30,
      variants: [
        { key: 'newest', weight: 25 },
        { key: 'popular', weight: 75 },
      ],
    });
    const seen = { SPLIT: 0, DEFAULT: 0, popular: 0, newestInRollout: 0 };
    for (const subject of subjects(10_000)) {
      const { variant, reason } = evaluateFlag(f, { targetingKey: subject });
      if (reason === 'SPLIT') {
        seen.SPLIT++;
        if (variant === 'popular') seen.popular++;
        else seen.newestInRollout++;
      } else {
        expect(reason).toBe('DEFAULT');
        expect(variant).toBe('newest');
        seen.DEFAULT++;
      }
    }
    expect(Math.abs(seen.SPLIT / 10_000 - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(seen.popular / seen.SPLIT - 0.75)).toBeLessThan(0.03);
  });

  it('keeps the subjects already in when the rollout grows, with the variant they had', () => {
    const small = flag({ rolloutPercent: 10 });
    const large = flag({ rolloutPercent: 60 });
    for (const subject of subjects(2_000)) {
      const before = evaluateFlag(small, { targetingKey: subject });
      if (before.reason === 'SPLIT') expect(evaluateFlag(large, { targetingKey: subject })).toEqual(before);
    }
  });

  it('gives the default to a context without a subject, and to everyone at 0 %', () => {
    expect(evaluateFlag(flag(), {})).toEqual({ variant: 'newest', reason: 'DEFAULT' });
    expect(evaluateFlag(flag({ rolloutPercent: 0 }), { targetingKey: randomUUID() })).toEqual({
      variant: 'newest',
      reason: 'DEFAULT',
    });
  });
});

describe('targeting rules', () => {
  const admins = flag({
    rolloutPercent: 0,
    rules: [{ attribute: 'role', operator: 'IN', values: ['ADMIN', 'INSTRUCTOR'], variant: 'popular' }],
  });

  it('gives a matching role the rule variant, and others the rollout', () => {
    expect(evaluateFlag(admins, { targetingKey: randomUUID(), role: 'ADMIN' })).toEqual({
      variant: 'popular',
      reason: 'TARGETING_MATCH',
    });
    expect(evaluateFlag(admins, { targetingKey: randomUUID(), role: 'INSTRUCTOR' }).variant).toBe('popular');
    expect(evaluateFlag(admins, { targetingKey: randomUUID(), role: 'LEARNER' })).toEqual({
      variant: 'newest',
      reason: 'DEFAULT',
    });
  });

  it('matches a context attribute with EQUALS, and the first matching rule wins', () => {
    const courseId = randomUUID();
    const f = flag({
      rolloutPercent: 0,
      rules: [
        { attribute: 'courseId', operator: 'EQUALS', values: [courseId], variant: 'popular' },
        { attribute: 'role', operator: 'IN', values: ['LEARNER'], variant: 'newest' },
      ],
    });
    expect(evaluateFlag(f, { role: 'LEARNER', courseId }).variant).toBe('popular');
    expect(evaluateFlag(f, { role: 'LEARNER', courseId: randomUUID() })).toEqual({
      variant: 'newest',
      reason: 'TARGETING_MATCH',
    });
    // An attribute the context does not carry matches nothing.
    expect(evaluateFlag(f, {}).reason).toBe('DEFAULT');
  });
});

describe('the kill switch', () => {
  it('beats rules, rollout and default: off for everyone', () => {
    const killed = onOff({
      enabled: false,
      rolloutPercent: 100,
      rules: [{ attribute: 'role', operator: 'IN', values: ['ADMIN'], variant: 'on' }],
    });
    for (const subject of subjects(100))
      expect(evaluateFlag(killed, { targetingKey: subject, role: 'ADMIN' })).toEqual({
        variant: 'off',
        reason: 'DISABLED',
      });
    expect(evaluateFlag(killed, {})).toEqual({ variant: 'off', reason: 'DISABLED' });
  });

  it('gives a variant flag its default variant (the code baseline)', () => {
    expect(offVariant(flag())).toBe('newest');
    expect(evaluateFlag(flag({ enabled: false }), { targetingKey: randomUUID() })).toEqual({
      variant: 'newest',
      reason: 'DISABLED',
    });
  });
});

describe('flags read from the wire', () => {
  it('keeps a well-formed flag and refuses a malformed one', () => {
    expect(flagFromWire({ ...flag(), updatedBy: '' })).toEqual(flag());
    expect(() => flagFromWire({ ...flag(), version: 0 })).toThrow(/version/);
    expect(() => flagFromWire({ ...flag(), rolloutPercent: 101 })).toThrow(/rolloutPercent/);
    expect(() =>
      flagFromWire({ ...flag(), rules: [{ attribute: 'role', operator: 'LIKE', values: [], variant: 'x' }] }),
    ).toThrow(/rules/);
    expect(() => flagFromWire('tutor')).toThrow(/object/);
  });
});
