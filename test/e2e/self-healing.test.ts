/**
 * Self-healing: a subgraph that dies under load (SIGKILL of its process, as the kernel's OOM killer
 * would) is restarted by the platform's supervisor, the gateway's /readyz names it while it is down,
 * every answer meanwhile is complete or carries error codes, and afterwards the same queries answer
 * fully again. Also the restart policy itself (scripts/lib/supervisor.mjs) on throwaway processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  createSupervisor,
  type E2E,
  eventually,
  person,
  publishCourse,
  startE2E,
} from '@coursegraph/test-support';

const CATALOG = `query SelfHealingCatalog($first: Int!, $sort: CatalogSort, $filter: CatalogFilter) {
  catalog(first: $first, sort: $sort, filter: $filter) {
    totalCount
    edges { node { id title isFree price { amountMinor currency } instructor { id name } lessonCount enrollmentCount } }
  }
}`;
const COURSE_PAGE = `query SelfHealingCourse($id: ID!) {
  course(id: $id) { id title lessonCount enrollmentCount instructor { id name taughtCourses(first: 5) { totalCount edges { node { id title } } } } }
}`;

interface Op {
  query: string;
  variables: Record<string, unknown>;
}
interface Answer {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** What every answer during the load looked like. */
interface Tally {
  full: number;
  /** Data with errors beside it (some fields nulled). */
  partial: number;
  /** No data, only errors. */
  failed: number;
  /** Error codes seen, with counts. */
  codes: Record<string, number>;
  /** Answers that broke the contract: not JSON, or an error without a code. */
  malformed: string[];
  /** The subgraphs SUBGRAPH_UNAVAILABLE errors named. */
  unavailable: Set<string>;
}

async function post(endpoint: string, op: Op): Promise<{ status: number; body: Answer | null; text: string }> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify(op),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Answer, text };
  } catch {
    return { status: res.status, body: null, text };
  }
}

let e2e: E2E;
let ops: Op[];
let references: string[];

describe('a subgraph killed under load', () => {
  beforeAll(async () => {
    // A first restart delay long enough for /readyz to be seen reporting the outage; the policy
    // itself (250 ms by default) is exercised in the next describe block.
    e2e = await startE2E('self_healing', { env: { SUPERVISOR_RESTART_BASE_MS: '1500' } });
    const instructors = await Promise.all(Array.from({ length: 3 }, () => person(e2e, 'INSTRUCTOR')));
    const courses = [];
    for (let i = 0; i < 9; i++)
      courses.push(
        await publishCourse(e2e.gql, instructors[i % 3]!, {
          priceMinor: i % 2 ? 1900 + i * 100 : 0,
          lessons: 1 + (i % 3),
        }),
      );
    // Varied operations: pages of different sizes, sorts and filters, and course pages.
    ops = [];
    for (const first of [1, 3, 5, 9])
      for (const sort of ['NEWEST', 'TITLE', 'PRICE_ASC', 'PRICE_DESC'])
        for (const filter of [null, { isFree: true }, { isFree: false }])
          ops.push({ query: CATALOG, variables: { first, sort, filter } });
    for (const course of courses) ops.push({ query: COURSE_PAGE, variables: { id: course.courseId } });
    // Every course is in the catalog before the references are taken (the suite's database keeps
    // earlier runs' courses, so at least these).
    await eventually('all courses in the catalog', async () => {
      const res = await post(e2e.endpoint, { query: CATALOG, variables: { first: 20 } });
      const ids = new Set(((res.body?.data as any)?.catalog.edges ?? []).map((e: any) => e.node.id));
      return !res.body?.errors && courses.every((c) => ids.has(c.courseId));
    });
    references = [];
    for (const op of ops) {
      const res = await post(e2e.endpoint, op);
      expect(res.body?.errors, res.text).toBeUndefined();
      references.push(JSON.stringify(res.body!.data));
    }
  }, 300_000);

  afterAll(async () => {
    await e2e?.platform.stop();
  });

  it(
    'is restarted by the supervisor, reported by /readyz meanwhile, and answers fully again',
    { timeout: 180_000 },
    async () => {
      const readyz = async () => {
        const res = await fetch(`${e2e.platform.gatewayUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
        return {
          status: res.status,
          body: (await res.json()) as {
            status: string;
            unavailable: string[];
            subgraphs: Record<string, { state: string; circuit?: string }>;
          },
        };
      };
      const before = await readyz();
      expect(before.status).toBe(200);
      expect(before.body.status).toBe('ready');
      expect(before.body.unavailable).toEqual([]);
      expect(Object.keys(before.body.subgraphs)).toContain('enrollment');
      expect(Object.values(before.body.subgraphs).every((s) => s.state === 'ready')).toBe(true);
      // Each subgraph's circuit breaker is shown beside its readiness.
      expect(before.body.subgraphs.enrollment!.circuit).toBe('closed');
      expect(e2e.platform.restarts().enrollment).toBe(0);

      // Steady load: four clients cycling through the operations until told to stop.
      const tally: Tally = { full: 0, partial: 0, failed: 0, codes: {}, malformed: [], unavailable: new Set() };
      let loading = true;
      let sent = 0;
      const client = async () => {
        while (loading) {
          const op = ops[sent++ % ops.length]!;
          const res = await post(e2e.endpoint, op);
          if (!res.body) {
            tally.malformed.push(`HTTP ${res.status}: ${res.text.slice(0, 200)}`);
            continue;
          }
          for (const error of res.body.errors ?? []) {
            const code = error.extensions?.code;
            if (typeof code !== 'string') tally.malformed.push(`error without a code: ${error.message}`);
            else tally.codes[code] = (tally.codes[code] ?? 0) + 1;
            if (code === 'SUBGRAPH_UNAVAILABLE') tally.unavailable.add(String(error.extensions?.subgraph));
          }
          if (!res.body.errors) tally.full++;
          else if (res.body.data) tally.partial++;
          else tally.failed++;
        }
      };
      const load = Promise.all(Array.from({ length: 4 }, client));
      try {
        await eventually('some answers under load', async () => tally.full >= 20);
        const oldPid = e2e.platform.pid('enrollment')!;
        // A crash: the process is killed directly, not through the platform.
        process.kill(oldPid, 'SIGKILL');

        const down = await eventually('/readyz to report enrollment unavailable', async () => {
          const r = await readyz();
          return r.body.unavailable.includes('enrollment') ? r : null;
        });
        expect(down.status).toBe(200);
        expect(down.body.status).toBe('degraded');
        expect(down.body.unavailable).toEqual(['enrollment']);
        expect(down.body.subgraphs.enrollment!.state).toBe('unavailable');
        expect(down.body.subgraphs.course!.state).toBe('ready');

        const up = await eventually(
          '/readyz to report every subgraph ready again',
          async () => {
            const r = await readyz();
            return r.body.status === 'ready' ? r : null;
          },
          { timeoutMs: 60_000 },
        );
        expect(up.status).toBe(200);
        expect(up.body.unavailable).toEqual([]);
        expect(e2e.platform.restarts().enrollment).toBe(1);
        expect(e2e.platform.pid('enrollment')).not.toBe(oldPid);

        // The restart is logged: one line for the exit, with the signal, attempt and delay, and one
        // once the new process is ready (the supervisor's own readiness poll may see it a moment after the gateway).
        const lines = await eventually('the restarted line in the supervisor log', async () => {
          const all = fs
            .readFileSync(e2e.platform.supervisorLog, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l));
          return all.some((l) => l.message === 'restarted') ? all : null;
        });
        expect(lines).toContainEqual(
          expect.objectContaining({
            message: 'restarting',
            service: 'enrollment',
            signal: 'SIGKILL',
            code: null,
            attempt: 1,
            delayMs: 1500,
            pid: oldPid,
          }),
        );
        expect(lines).toContainEqual(
          expect.objectContaining({
            message: 'restarted',
            service: 'enrollment',
            attempt: 1,
            pid: e2e.platform.pid('enrollment'),
          }),
        );
        // Nothing else was restarted.
        expect(lines.filter((l) => l.service !== 'enrollment')).toEqual([]);
      } finally {
        loading = false;
        await load;
      }

      // During the outage nothing hung or broke the contract: answers were full, partial or errors with codes.
      expect(tally.malformed).toEqual([]);
      expect(tally.partial + tally.failed).toBeGreaterThan(0);
      // The missing fields are the dead subgraph's, said so by name.
      expect(tally.codes.SUBGRAPH_UNAVAILABLE).toBeGreaterThan(0);
      expect([...tally.unavailable]).toEqual(['enrollment']);

      // Back and answering: every operation gives its reference answer again.
      for (const [i, op] of ops.entries()) {
        await eventually(`operation ${i} to answer fully again`, async () => {
          const res = await post(e2e.endpoint, op);
          return !res.body?.errors && JSON.stringify(res.body?.data) === references[i];
        });
      }
      const { enrollment, ...others } = e2e.platform.restarts();
      expect(enrollment).toBe(1);
      expect(Object.values(others).every((n) => n === 0)).toBe(true);
    },
  );

  it(
    'leaves a service killed through the platform down until it is restarted on purpose',
    { timeout: 120_000 },
    async () => {
      const restartsBefore = e2e.platform.restarts().search;
      await e2e.platform.kill('search');
      // The gateway keeps answering what the other subgraphs own and names the missing one.
      const r = await eventually('/readyz to report search unavailable', async () => {
        const res = await fetch(`${e2e.platform.gatewayUrl}/readyz`);
        const body = await res.json();
        return body.unavailable.includes('search') ? { status: res.status, body } : null;
      });
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('degraded');
      // What search does not own still answers in full (once any circuit opened earlier has closed).
      await eventually(
        'a catalog page in full without search',
        async () => !(await post(e2e.endpoint, ops[0]!)).body?.errors,
      );
      // Still down well after the supervisor's first delay (1.5 s here): a wanted exit is not restarted.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect((await (await fetch(`${e2e.platform.gatewayUrl}/readyz`)).json()).unavailable).toEqual(['search']);
      expect(e2e.platform.restarts().search).toBe(restartsBefore);
      await e2e.platform.restart('search');
      expect(e2e.platform.restarts().search).toBe(restartsBefore);
      await eventually(
        '/readyz ready after the wanted restart',
        async () => (await (await fetch(`${e2e.platform.gatewayUrl}/readyz`)).json()).status === 'ready',
      );
    },
  );
});

describe('the restart policy', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-supervisor-'));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  /** A real process that says it is ready, then exits with the code it is sent on stdin. */
  const spawnWorker = async (): Promise<ChildProcess> => {
    const child = spawn(
      process.execPath,
      ['-e', 'process.stdin.on("data", (d) => process.exit(Number(String(d)) || 0)); process.stdout.write("ready")'],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    return child;
  };

  it('doubles the delay from the base up to the maximum', () => {
    const policy = { baseMs: 250, maxMs: 30_000, stableMs: 30_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 50].map((attempt) => backoffDelay(attempt, policy))).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it(
    'restarts a crashing process with growing delays, resets after it stays up, and never restarts a held one',
    { timeout: 60_000 },
    async () => {
      const logFile = path.join(scratch, 'supervisor.log');
      const started: ChildProcess[] = [];
      const start = async () => {
        const child = await spawnWorker();
        started.push(child);
        return child;
      };
      // Tiny delays so the test is quick; "stable" after 1.5 s up (ready to exit takes far less).
      const supervisor = createSupervisor({ start, policy: { baseMs: 20, maxMs: 80, stableMs: 1_500 }, logFile });
      const first = await start();
      supervisor.watch('worker', first);
      const crash = async (code: number) => {
        const current = started.at(-1)!;
        current.stdin!.write(String(code));
        const count = started.length;
        await eventually('a restart', async () => started.length > count && supervisor.pending('worker') === false);
      };
      try {
        for (const code of [3, 4, 5, 6]) await crash(code);
        // Up long enough: the next crash starts again from the base delay.
        await new Promise((resolve) => setTimeout(resolve, 1_700));
        await crash(7);
        const lines = fs
          .readFileSync(logFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
          .filter((l) => l.message === 'restarting');
        expect(lines.map((l) => [l.code, l.attempt, l.delayMs])).toEqual([
          [3, 1, 20],
          [4, 2, 40],
          [5, 3, 80],
          [6, 4, 80],
          [7, 1, 20],
        ]);
        expect(supervisor.restarts()).toEqual({ worker: 5 });

        // A held process (a stop, or a test's kill) stays down.
        supervisor.hold('worker');
        const last = started.at(-1)!;
        const exited = new Promise((resolve) => last.once('exit', resolve));
        last.stdin!.write('9');
        await exited;
        expect(supervisor.pending('worker')).toBe(false);
        expect(supervisor.restarts()).toEqual({ worker: 5 });
      } finally {
        await supervisor.close();
        for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    },
  );
});
