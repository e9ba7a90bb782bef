/**
 * Subscriptions through the gateway of a running platform, with a real client for each protocol
 * (graphql-ws over WebSocket, graphql-sse over HTTP): domain events arrive with fields joined from
 * other subgraphs, a reconnect resumes where it left off, and bad requests get clear errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsConnectOptions } from '@coursegraph/service-kit';
import { createClient as createWsClient } from 'graphql-ws';
import { createClient as createSseClient, NetworkError } from 'graphql-sse';
import {
  checkoutWhenPurchasable,
  type E2E,
  eventually,
  person,
  type Person,
  publishCourse,
  SANDBOX_CARDS,
  startE2E,
} from '@coursegraph/test-support';

let e2e: E2E;
let admin: Person;
let instructor: Person;

beforeAll(async () => {
  e2e = await startE2E('subscriptions');
  admin = await person(e2e, 'ADMIN');
  instructor = await person(e2e, 'INSTRUCTOR');
});

afterAll(async () => {
  await e2e?.platform.stop();
});

const wsUrl = () => e2e.endpoint.replace(/^http/, 'ws');
const sseUrl = () => `${e2e.endpoint}/stream`;

/** Collects `count` results of one subscription (or its error) with the given client's `subscribe`. */
function collect(
  subscribe: (
    payload: { query: string; variables?: Record<string, unknown> },
    sink: { next(v: unknown): void; error(e: unknown): void; complete(): void },
  ) => () => void,
  query: string,
  variables: Record<string, unknown> = {},
  count = 1,
) {
  const results: Record<string, any>[] = [];
  let error: unknown = null;
  let stop: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    stop = subscribe(
      { query, variables },
      {
        next: (value) => {
          results.push(value as Record<string, any>);
          if (results.length >= count) resolve();
        },
        error: (err) => {
          error = err;
          resolve();
        },
        complete: () => resolve(),
      },
    );
  });
  return {
    results,
    done: done.then(() => stop()),
    get error() {
      return error;
    },
  };
}

const wsClient = (token?: string) =>
  createWsClient({
    url: wsUrl(),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
const sseClient = (token?: string) =>
  createSseClient({ url: sseUrl(), retryAttempts: 0, headers: token ? { authorization: `Bearer ${token}` } : {} });

/**
 * The stream's current position, read from the suite's NATS: subscribing `after` it receives every
 * later event, however long the gateway takes to register the subscription (no sleeping).
 */
async function positionNow(stream: string): Promise<string> {
  const nc = await connect(natsConnectOptions(e2e.natsUrl));
  try {
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    return `${stream}:${info.state.last_seq}`;
  } finally {
    await nc.close();
  }
}

async function enrolWhenKnown(learner: Person, courseId: string) {
  return eventually('the course to be enrollable', async () => {
    const res = await e2e.gql(`mutation($c: ID!) { enrol(courseId: $c) { id mode } }`, { c: courseId }, learner.token);
    return res.body.data?.enrol ?? null;
  });
}

describe('domain streams for staff', () => {
  it('orderPaid over graphql-ws carries fields of payment, identity and course, resolved through the supergraph', async () => {
    const paid = await publishCourse(e2e.gql, instructor, { priceMinor: 4900 });
    const learner = await person(e2e);
    const client = wsClient(admin.token);
    const sub = collect(
      client.subscribe.bind(client),
      `subscription($after: String) { orderPaid(after: $after) { position orderId order { id status total { amountMinor currency } } user { email name } course { title instructor { name } } } }`,
      { after: await positionNow('PAYMENT') },
    );
    const checkout = await checkoutWhenPurchasable(e2e.gql, learner, paid.courseId, SANDBOX_CARDS.success);
    await sub.done;
    await client.dispose();
    expect(sub.error).toBeNull();
    const event = sub.results[0]!.data.orderPaid;
    expect(event.position).toMatch(/^PAYMENT:\d+$/);
    expect(event).toMatchObject({
      orderId: checkout.body.data!.checkout.order.id,
      order: {
        id: checkout.body.data!.checkout.order.id,
        status: 'PAID',
        total: { amountMinor: 4900, currency: 'USD' },
      },
      user: { email: learner.email, name: learner.name },
      course: { title: paid.title, instructor: { name: instructor.name } },
    });
  });

  it('enrollmentCreated over SSE, then a reconnect with the last position gets exactly what was missed', async () => {
    const free = await publishCourse(e2e.gql, instructor);
    const query = `subscription($after: String) { enrollmentCreated(after: $after) { position mode user { email } course { title } } }`;
    const [first, second, third] = [await person(e2e), await person(e2e), await person(e2e)];

    const client = sseClient(admin.token);
    const live = collect(client.subscribe.bind(client), query, { after: await positionNow('ENROLLMENT') }, 1);
    await enrolWhenKnown(first!, free.courseId);
    await live.done;
    client.dispose();
    expect(live.error).toBeNull();
    expect(live.results[0]!.data.enrollmentCreated).toMatchObject({
      mode: 'FREE',
      user: { email: first!.email },
      course: { title: free.title },
    });
    const position = live.results[0]!.data.enrollmentCreated.position as string;

    // Away: two more learners enrol. Back, with the last position.
    await enrolWhenKnown(second!, free.courseId);
    await enrolWhenKnown(third!, free.courseId);
    const again = sseClient(admin.token);
    const resumed = collect(again.subscribe.bind(again), query, { after: position }, 2);
    await resumed.done;
    again.dispose();
    expect(resumed.error).toBeNull();
    expect(resumed.results.map((r) => r.data.enrollmentCreated.user.email)).toEqual([second!.email, third!.email]);
    const sequences = [position, ...resumed.results.map((r) => r.data.enrollmentCreated.position as string)].map((p) =>
      Number(p.split(':')[1]),
    );
    expect(sequences[1]! > sequences[0]! && sequences[2]! > sequences[1]!).toBe(true);
  });

  it('coursePublished over graphql-ws names the course as the course subgraph has it', async () => {
    const client = wsClient(admin.token);
    const sub = collect(
      client.subscribe.bind(client),
      `subscription($after: String) { coursePublished(after: $after) { position version course { id title } } }`,
      { after: await positionNow('COURSE') },
    );
    const course = await publishCourse(e2e.gql, instructor);
    await sub.done;
    await client.dispose();
    expect(sub.results[0]!.data.coursePublished).toMatchObject({
      version: 1,
      course: { id: course.courseId, title: course.title },
    });
  });
});

describe('notificationAdded', () => {
  it('a learner receives their own new notification, with the course joined from the course subgraph; another learner does not', async () => {
    const free = await publishCourse(e2e.gql, instructor);
    const [learner, other] = [await person(e2e), await person(e2e)];
    const after = await positionNow('NOTIFICATION');
    const query = `subscription($after: String) { notificationAdded(after: $after) { position type category title course { title } notification { id read user { email } } } }`;
    const mine = sseClient(learner.token);
    const received = collect(mine.subscribe.bind(mine), query, { after }, 1);
    const others = wsClient(other.token);
    const notReceived = collect(others.subscribe.bind(others), query, { after }, 1);
    await enrolWhenKnown(learner, free.courseId);
    await received.done;
    mine.dispose();
    expect(received.error).toBeNull();
    expect(received.results[0]!.data.notificationAdded).toMatchObject({
      type: 'ENROLLMENT_CREATED',
      category: 'ENROLLMENT',
      course: { title: free.title },
      notification: { read: false, user: { email: learner.email } },
    });
    expect(received.results[0]!.data.notificationAdded.position).toMatch(/^NOTIFICATION:\d+$/);
    // The other learner's stream saw the same notification go by and let it pass.
    await others.dispose();
    expect(notReceived.results).toEqual([]);
  });
});

describe('bad requests', () => {
  it('a learner may not open an internal stream; without a token SSE answers 401', async () => {
    const learner = await person(e2e);
    const client = wsClient(learner.token);
    const sub = collect(client.subscribe.bind(client), `subscription { orderPaid { position } }`);
    await sub.done;
    await client.dispose();
    expect((sub.error as { extensions: { code: string } }[])[0]!.extensions.code).toBe('FORBIDDEN');

    const anonymous = sseClient();
    const refused = collect(anonymous.subscribe.bind(anonymous), `subscription { notificationAdded { position } }`);
    await refused.done;
    anonymous.dispose();
    expect(refused.error).toBeInstanceOf(NetworkError);
    expect((refused.error as NetworkError<Response>).response!.status).toBe(401);
    // The client has let go of that response; the same request again shows the body.
    const res = await fetch(sseUrl(), {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription { notificationAdded { position } }' }),
    });
    expect(res.status).toBe(401);
    expect((await res.json()).errors[0]).toMatchObject({
      message: 'Sign in to receive your notifications.',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('an unknown subscription field and a malformed resume position get BAD_USER_INPUT', async () => {
    const client = wsClient(admin.token);
    const unknown = collect(client.subscribe.bind(client), `subscription { everything { position } }`);
    const malformed = collect(
      client.subscribe.bind(client),
      `subscription { orderPaid(after: "last tuesday") { position } }`,
    );
    await Promise.all([unknown.done, malformed.done]);
    await client.dispose();
    expect((unknown.error as { message: string; extensions: { code: string } }[])[0]).toMatchObject({
      message: 'Cannot query field "everything" on type "Subscription".',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect((malformed.error as { message: string; extensions: { code: string } }[])[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'after' },
    });
  });

  it('a subscription sent to POST /graphql is refused, not half-executed', async () => {
    const res = await e2e.gql(`subscription { orderPaid { position } }`, {}, admin.token);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
