// The local Messages API server itself, spoken to with plain fetch: what bench and e2e suites rely on.
import { startMessagesApiServer, TEST_API_KEY, type MessagesApiServer } from '@coursegraph/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let server: MessagesApiServer;

beforeEach(async () => {
  server = await startMessagesApiServer();
});
afterEach(async () => {
  await server.close();
});

const body = {
  model: 'claude-test',
  max_tokens: 50,
  messages: [{ role: 'user', content: 'Explain recursion briefly.' }],
};

function post(headers: Record<string, string>, payload: unknown = body) {
  return fetch(`${server.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });
}

describe('messages', () => {
  it('answers with x-api-key and the 2023-06-01 version, echoing the last user message', async () => {
    const response = await post({ 'x-api-key': TEST_API_KEY, 'anthropic-version': '2023-06-01' });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-test',
      content: [{ type: 'text', text: 'You said: Explain recursion briefly.' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 3, output_tokens: 5 },
    });
  });

  it('refuses a wrong key with 401 in Anthropic’s error shape', async () => {
    const response = await post({ 'x-api-key': 'nope', 'anthropic-version': '2023-06-01' });

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('requires a known anthropic-version, and refuses sampling parameters under 2026-10-21', async () => {
    const auth = { authorization: `Bearer ${TEST_API_KEY}` };

    const missing = await post(auth);
    const unknown = await post({ ...auth, 'anthropic-version': '1999-01-01' });
    const sampling = await post({ ...auth, 'anthropic-version': '2026-10-21' }, { ...body, temperature: 0.2 });
    const older = await post({ ...auth, 'anthropic-version': '2023-06-01' }, { ...body, temperature: 0.2 });

    expect([missing.status, unknown.status, sampling.status, older.status]).toEqual([400, 400, 400, 200]);
    expect(await sampling.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: expect.stringContaining('temperature') },
    });
  });

  it('streams the documented event sequence, deltas joining to the reply', async () => {
    const response = await post(
      { 'x-api-key': TEST_API_KEY, 'anthropic-version': '2026-10-21' },
      { ...body, stream: true },
    );
    const text = await response.text();

    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map(([, name, data]) => ({
      name,
      data: JSON.parse(data!) as Record<string, unknown>,
    }));
    const names = events.map((event) => event.name);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    const deltas = events.filter((event) => event.name === 'content_block_delta');
    expect(deltas.map((event) => (event.data.delta as { text: string }).text).join('')).toBe(
      'You said: Explain recursion briefly.',
    );
    expect(events.at(-2)?.data).toMatchObject({
      delta: { stop_reason: 'end_turn' },
      usage: { output_tokens: deltas.length },
    });
  });

  it('plays scripted faults in order, one per request, and records which each got', async () => {
    server.script([
      { kind: 'error', status: 429, retryAfterSeconds: 7 },
      { kind: 'error', status: 529 },
    ]);
    const headers = { 'x-api-key': TEST_API_KEY, 'anthropic-version': '2023-06-01' };

    const first = await post(headers);
    const second = await post(headers);
    const third = await post(headers);

    expect([first.status, second.status, third.status]).toEqual([429, 529, 200]);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(await second.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(server.requests.map((r) => r.fault)).toEqual(['error', 'error', undefined]);
  });

  it('closes even while a stream is stalled', async () => {
    server.script([{ kind: 'stall', afterDeltas: 1 }]);
    const response = await post(
      { 'x-api-key': TEST_API_KEY, 'anthropic-version': '2023-06-01' },
      { ...body, stream: true },
    );
    expect(response.status).toBe(200);

    await server.close();

    await expect(response.text()).rejects.toThrow();
  });
});
