/**
 * The gateway's /readyz report, served by the kit's serve(): every subgraph's state, `degraded`
 * (still 200) when some are down, `unavailable` (503) when none answers, with the reason and the
 * circuit breaker's state per subgraph. The subgraphs are real HTTP servers on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, serve, type RunningServer } from '@coursegraph/service-kit';
import { subgraphReadiness } from '../src/readiness.js';

/** A fake subgraph whose /readyz answers `status`, or never answers (`hang`). */
async function subgraph(status: number | 'hang'): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (status === 'hang') return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: status === 200 ? 'ready' : 'not ready' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, server };
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPortUrl(): Promise<string> {
  const { url, server } = await subgraph(200);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

const servers: Server[] = [];
const running: RunningServer[] = [];
let ready: string;
let failing: string;
let hanging: string;
let closed: string;

beforeAll(async () => {
  const a = await subgraph(200);
  const b = await subgraph(503);
  const c = await subgraph('hang');
  servers.push(a.server, b.server, c.server);
  [ready, failing, hanging] = [a.url, b.url, c.url];
  closed = await closedPortUrl();
});

afterAll(async () => {
  for (const r of running) await r.shutdown();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function readyz(options: Parameters<typeof subgraphReadiness>[0]) {
  const server = await serve({
    handler: (_req, res) => res.end(),
    logger: createLogger('test', 'silent'),
    port: 0,
    ready: subgraphReadiness(options),
  });
  running.push(server);
  const res = await fetch(`${server.url}/readyz`);
  return { status: res.status, body: await res.json() };
}

describe('gateway /readyz', () => {
  it('is ready when every subgraph is, and shows each circuit', async () => {
    const { status, body } = await readyz({
      subgraphUrls: { course: ready, identity: ready },
      breakerStates: () => ({ course: 'closed', identity: 'closed' }),
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'ready',
      unavailable: [],
      subgraphs: { course: { state: 'ready', circuit: 'closed' }, identity: { state: 'ready', circuit: 'closed' } },
    });
  });

  it('stays in rotation as degraded, naming what is down and why', async () => {
    const { status, body } = await readyz({
      subgraphUrls: { course: ready, search: failing, payment: closed, enrollment: hanging },
      probeTimeoutMs: 300,
      breakerStates: () => ({ course: 'closed', search: 'open', payment: 'half-open' }),
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'degraded',
      unavailable: ['enrollment', 'payment', 'search'],
      subgraphs: {
        course: { state: 'ready', circuit: 'closed' },
        enrollment: { state: 'unavailable', reason: 'timed out' },
        payment: { state: 'unavailable', reason: 'unreachable', circuit: 'half-open' },
        search: { state: 'unavailable', reason: 'HTTP 503', circuit: 'open' },
      },
    });
  });

  it('is unavailable (503) when no subgraph answers', async () => {
    const { status, body } = await readyz({ subgraphUrls: { search: failing, payment: closed } });
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: 'unavailable', unavailable: ['payment', 'search'] });
  });
});
