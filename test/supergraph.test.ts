import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compose } from '../scripts/compose.mjs';

describe('schema/supergraph.graphql', () => {
  it('is what composing every subgraph SDL gives now (run `npm run compose` when this fails)', () => {
    const committed = readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8');
    expect(compose()).toBe(committed);
  });

  it('routes User to the identity subgraph', () => {
    const supergraph = compose();
    expect(supergraph).toMatch(/IDENTITY @join__graph\(name: "identity", url: "http:\/\/127\.0\.0\.1:4001\/graphql"\)/);
    const user = supergraph.slice(
      supergraph.indexOf('type User'),
      supergraph.indexOf('{', supergraph.indexOf('type User')),
    );
    expect(user).toContain('@join__type(graph: IDENTITY, key: "id")');
  });
});
