import { describe, expect, it } from 'vitest';
import { natsConnectOptions, redactNatsUrl } from '../src/events/nats-credentials.js';

describe('natsConnectOptions', () => {
  it('takes user and password out of the URL, a password starting with digits included, and names the user’s inbox', () => {
    expect(natsConnectOptions('nats://course:4223secret@127.0.0.1:4222')).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      user: 'course',
      pass: '4223secret',
      inboxPrefix: '_INBOX_course',
    });
  });

  it('reads a user without a password as a token, and keeps nats.js’s inbox', () => {
    expect(natsConnectOptions('nats://s3cr3t-token@nats.internal:4222')).toEqual({
      servers: ['nats://nats.internal:4222'],
      token: 's3cr3t-token',
      inboxPrefix: '_INBOX',
    });
  });

  it('decodes percent-escapes and takes the first credentials for every server of a list', () => {
    expect(natsConnectOptions('nats://ops:p%40ss%3Aword@a:4222, nats://b:4222')).toEqual({
      servers: ['nats://a:4222', 'nats://b:4222'],
      user: 'ops',
      pass: 'p@ss:word',
      inboxPrefix: '_INBOX_ops',
    });
  });

  it('leaves a URL without credentials as it is', () => {
    expect(natsConnectOptions('nats://127.0.0.1:4222')).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      inboxPrefix: '_INBOX',
    });
  });

  it('refuses an empty URL', () => {
    expect(() => natsConnectOptions(' , ')).toThrow('NATS URL is empty');
  });
});

describe('redactNatsUrl', () => {
  it('hides passwords and tokens, keeps users and hosts', () => {
    expect(redactNatsUrl('nats://course:pw@a:4222,nats://tok@b:4222,nats://c:4222')).toBe(
      'nats://course:***@a:4222,nats://***@b:4222,nats://c:4222',
    );
  });
});
