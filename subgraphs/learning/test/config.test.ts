import { describe, expect, it } from 'vitest';
import { readConfig } from '@coursegraph/service-kit';
import { learningSettings } from '../src/config.js';

describe("learning's settings", () => {
  it('never take the time from callers in production', () => {
    expect(() => readConfig(learningSettings, { COURSEGRAPH_MODE: 'production', CLOCK_HEADER: 'true' })).toThrow(
      /CLOCK_HEADER lets callers choose the time/,
    );
    expect(readConfig(learningSettings, {}).clockHeader).toBe(false);
  });
});
