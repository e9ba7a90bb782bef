#!/usr/bin/env node
// The hostile mix of bench:edge's `under-attack` run, sent from a process of its own so its loop
// never delays the measured normal traffic's: documents built to exhaust a subgraph (deep nesting,
// a cycle, aliases, cost, huge token counts) from many client addresses, and a logIn flood from a
// few. Every answer should be a refusal; each is tallied by kind and by how it was refused.
//   node test/bench/lib/edge-hostile.mjs <graphql url> <duration ms> <connections>
// prints one JSON object: { sent, refused, accepted, by_kind: { kind: { sent, refused, reasons } } }.
import http from 'node:http';
import { clientIp } from './edge-workload.mjs';
import { post as postJson } from '../gateway/load.mjs';

/** catalog → instructor → taughtCourses → instructor …, `levels` times (the 40 levels). */
function deep(levels) {
  let inner = 'id title';
  for (let i = 0; i < levels; i++)
    inner = `id instructor { id taughtCourses(first: 50) { edges { node { ${inner} } } } }`;
  return `{ catalog(first: 50) { edges { node { ${inner} } } } }`;
}

/** `count` aliases of `catalog(first: 50)`. */
const aliases = (count) =>
  `{ ${Array.from({ length: count }, (_, i) => `a${i}: catalog(first: 50) { totalCount edges { node { id title } } }`).join(' ')} }`;

/** Lesson.module → Module.lessons → … inside one subgraph, `turns` times. */
function cycle(turns) {
  let inner = 'title';
  for (let i = 0; i < turns; i++) inner = `title module { title lessons { ${inner} } }`;
  return `{ catalog(first: 50) { edges { node { modules { lessons { ${inner} } } } } } }`;
}

/** Shallow but expensive: every page as large as allowed, with lists inside lists. */
const COST_HEAVY = `{ catalog(first: 100) { edges { node { title modules { title lessons { title body course { title modules { lessons { title } } } } }
  instructor { taughtCourses(first: 100) { edges { node { title modules { lessons { title } } } } } } } } } }`;

/** Many tokens in a small, otherwise valid document. */
const hugeTokens = (count) => `{ catalog(first: 1) { totalCount ${'__typename '.repeat(count)} } }`;

const LOG_IN = 'mutation LogIn($input: LogInInput!) { logIn(input: $input) { accessToken } }';

/** The mix, cycled per request: each kind with its body and the client address it comes from. */
export const HOSTILE_KINDS = [
  { kind: 'deep-40', body: JSON.stringify({ query: deep(40) }), ips: 64 },
  { kind: 'aliases-2000', body: JSON.stringify({ query: aliases(2000) }), ips: 64 },
  { kind: 'aliases-40', body: JSON.stringify({ query: aliases(40) }), ips: 64 },
  { kind: 'cycle-20', body: JSON.stringify({ query: cycle(20) }), ips: 64 },
  { kind: 'cost-heavy', body: JSON.stringify({ query: COST_HEAVY }), ips: 64 },
  { kind: 'huge-tokens', body: JSON.stringify({ query: hugeTokens(30_000) }), ips: 64 },
  // The flood: wrong passwords for made-up accounts, from 4 addresses, twice as often as any other kind.
  { kind: 'login-flood', login: true, ips: 4 },
  { kind: 'login-flood', login: true, ips: 4 },
];

// Hostile requests may be slow to refuse under load: give them longer than the normal traffic.
const post = (agent, url, body, headers) => postJson(agent, url, body, headers, 30_000);

/**
 * How an answer refused the request (`RATE_LIMITED`, `BAD_USER_INPUT/MAX_DEPTH`, `HTTP 413`…), or
 * null when it was served: data came back. A wrong-password answer is a refusal too (nobody signed in).
 */
function refusal(status, text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return status >= 400 ? `HTTP ${status}` : null;
  }
  const hasData = body.data && Object.values(body.data).some((v) => v !== null);
  if (hasData) return null;
  const error = body.errors?.[0];
  if (error) return [error.extensions?.code ?? 'NO_CODE', error.extensions?.reason].filter(Boolean).join('/');
  if (body.code) return [body.code, body.reason].filter(Boolean).join('/');
  return `HTTP ${status}`;
}

export async function runHostile({ url, durationMs, connections }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const byKind = {};
  let sent = 0;
  const until = Date.now() + durationMs;
  async function connection() {
    while (Date.now() < until) {
      const i = sent++;
      const k = HOSTILE_KINDS[i % HOSTILE_KINDS.length];
      const body = k.login
        ? JSON.stringify({
            query: LOG_IN,
            variables: { input: { email: `flood-${i}@bench.coursegraph.dev`, password: 'not-the-password-1' } },
          })
        : k.body;
      const headers = { 'x-forwarded-for': clientIp(k.login ? 67 : 66, Math.floor(i / HOSTILE_KINDS.length), k.ips) };
      const tally = (byKind[k.kind] ??= { sent: 0, refused: 0, reasons: {} });
      tally.sent++;
      let reason;
      try {
        const res = await post(agent, url, body, headers);
        reason = refusal(res.status, res.text);
      } catch (err) {
        // A transport failure is not a refusal: the gateway should answer every request.
        tally.reasons[`transport: ${err.message}`] = (tally.reasons[`transport: ${err.message}`] ?? 0) + 1;
        continue;
      }
      if (reason) {
        tally.refused++;
        tally.reasons[reason] = (tally.reasons[reason] ?? 0) + 1;
      } else tally.reasons.served = (tally.reasons.served ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: connections }, connection));
  agent.destroy();
  const total = Object.values(byKind).reduce((a, t) => ({ sent: a.sent + t.sent, refused: a.refused + t.refused }), {
    sent: 0,
    refused: 0,
  });
  return { ...total, accepted: total.sent - total.refused, by_kind: byKind };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, durationMs, connections] = process.argv.slice(2);
  const result = await runHostile({ url, durationMs: Number(durationMs), connections: Number(connections) });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
