/**
 * The mail sender against a server that is down (nothing listening, or refusing every session) and
 * against a server that refuses one recipient: an outage pauses the whole sender and spends no
 * message's attempts; a refusal of a message spends that message's attempts only. Time is the
 * sender's injectable clock; sends are counted on the real SMTP transport.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@coursegraph/service-kit';
import { createMailSender } from '../src/mail/sender.js';
import { smtpTransport, type MailTransport } from '../src/mail/transport.js';
import { queuedEmail } from './fixtures.js';
import { startNotification, type NotificationHarness } from './harness.js';
import { startLoopbackSmtp } from './smtp.js';

let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotification();
  // Only the senders of these tests run: the harness's own would take the rows too.
  await h.stopWorkers();
});
afterAll(async () => {
  await h.close();
});

const DAY = 86_400_000;

/** The real SMTP transport, recording the recipient of every message handed to it. */
function counted(transport: MailTransport) {
  const counter = { sends: 0, to: [] as string[] };
  const wrapped: MailTransport = {
    send: (email) => {
      counter.sends++;
      counter.to.push(email.to);
      return transport.send(email);
    },
    close: () => transport.close(),
  };
  return Object.assign(counter, { transport: wrapped });
}

/** A logger at info level whose lines the test reads. */
function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  return {
    logger,
    lines,
    warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg),
    infos: () => lines.filter((l) => l.level === 30).map((l) => l.msg),
  };
}

/** A loopback port with nothing listening on it. */
async function freePort() {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The rows of these tests are due 10 days from now, and so is the clock of their senders: the
 * real-time senders of the other test files never take them.
 */
const future = () => new Date(Date.now() + 10 * DAY);

describe('an outage of the SMTP server', () => {
  it('pauses the sender: one probe per backoff interval in total, no message spends an attempt; once the server is back each is delivered once', async () => {
    const port = await freePort();
    const smtp = counted(smtpTransport({ ...h.config, smtpPort: port }));
    const log = recordingLogger();
    const start = future();
    let now = start;
    const at = (ms: number) => new Date(start.getTime() + ms);
    const sender = createMailSender({
      db: h.app.db,
      transport: smtp.transport,
      logger: log.logger,
      poll: false,
      clock: () => now,
      outageBaseMs: 1000,
      outageMaxMs: 8000,
    });
    const mails = await Promise.all(
      Array.from({ length: 25 }, (_, i) => queuedEmail(h, `outage-${i}-${newId()}@test.coursegraph.dev`, start)),
    );
    let server: Awaited<ReturnType<typeof startLoopbackSmtp>> | undefined;
    try {
      await sender.sendDue();
      expect(smtp.sends).toBe(1); // the first failure stops the batch: not one connection per queued mail
      expect(sender.outage).toMatchObject({ since: start, failedSends: 1, nextProbeAt: at(1000) });
      expect(sender.outage!.lastError).toContain('ECONNREFUSED');

      // Paused: however often it is asked, nothing is sent before the pause ends.
      await sender.sendDue();
      now = at(999);
      await sender.sendDue();
      expect(smtp.sends).toBe(1);

      // Each pause ends with exactly one probe; a failed probe doubles the pause, up to the maximum.
      let elapsed = 0;
      let sends = 1;
      for (const pause of [1000, 2000, 4000, 8000, 8000, 8000]) {
        now = at(elapsed + pause - 1);
        await sender.sendDue();
        expect(smtp.sends).toBe(sends);
        elapsed += pause;
        now = at(elapsed);
        await sender.sendDue();
        await sender.sendDue();
        expect(smtp.sends).toBe(++sends);
        expect(sender.outage).toMatchObject({
          failedSends: sends,
          nextProbeAt: at(elapsed + Math.min(pause * 2, 8000)),
        });
      }
      expect(smtp.sends).toBe(7); // 31 s of outage, 25 queued mails: 7 sends in all

      const during = await h.app.db.emailDelivery.findMany({ where: { id: { in: mails.map((m) => m.id) } } });
      expect(during.map((r) => [r.status, r.attempts])).toEqual(mails.map(() => ['PENDING', 0]));
      expect(during.filter((r) => r.lastError !== null).every((r) => r.lastError!.includes('ECONNREFUSED'))).toBe(true);
      expect(log.warnings()).toEqual(['mail server unavailable: sending paused (no message spends an attempt on it)']);
      expect(log.infos()).toEqual([]);

      // The server comes back on the same port: the next probe goes through and the queue drains.
      server = await startLoopbackSmtp({ port });
      now = sender.outage!.nextProbeAt;
      await sender.sendDue();
      expect(sender.outage).toBeNull();
      now = at(elapsed + DAY);
      await sender.sendDue();
      for (const mail of mails) expect(server.to(mail.toAddress)).toHaveLength(1);
      const after = await h.app.db.emailDelivery.findMany({ where: { id: { in: mails.map((m) => m.id) } } });
      expect(after.map((r) => [r.status, r.attempts, r.lastError])).toEqual(mails.map(() => ['SENT', 1, null]));
      expect(log.warnings()).toEqual(['mail server unavailable: sending paused (no message spends an attempt on it)']);
      expect(log.infos().filter((m) => m !== 'email sent')).toEqual(['mail server available again: sending resumed']);
    } finally {
      smtp.transport.close();
      await server?.close();
    }
  });

  it('a server that refuses every session (421 in its greeting) is an outage too', async () => {
    const sessions: Socket[] = [];
    const refusing = createServer((socket) => {
      sessions.push(socket);
      socket.end('421 4.3.2 Service not available, closing transmission channel\r\n');
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const smtp = counted(smtpTransport({ ...h.config, smtpPort: (refusing.address() as AddressInfo).port }));
    const start = future();
    let now = start;
    const sender = createMailSender({
      db: h.app.db,
      transport: smtp.transport,
      logger: recordingLogger().logger,
      poll: false,
      clock: () => now,
      outageBaseMs: 1000,
    });
    const mails = await Promise.all(
      Array.from({ length: 5 }, (_, i) => queuedEmail(h, `refused-${i}-${newId()}@test.coursegraph.dev`, start)),
    );
    try {
      await sender.sendDue();
      await sender.sendDue();
      expect(smtp.sends).toBe(1);
      expect(sessions).toHaveLength(1);
      expect(sender.outage?.lastError).toContain('421');
      now = new Date(start.getTime() + 1000);
      await sender.sendDue();
      expect(smtp.sends).toBe(2);
      const rows = await h.app.db.emailDelivery.findMany({ where: { id: { in: mails.map((m) => m.id) } } });
      expect(rows.map((r) => [r.status, r.attempts])).toEqual(mails.map(() => ['PENDING', 0]));
    } finally {
      smtp.transport.close();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
      // These rows would otherwise wait for a sender in 10 days: cancel them.
      await h.app.db.emailDelivery.updateMany({
        where: { id: { in: mails.map((m) => m.id) } },
        data: { status: 'CANCELLED' },
      });
    }
  });
});

describe('a refusal of one message', () => {
  it("a recipient the server rejects (550) spends that mail's attempts until FAILED; the sender never pauses and the other mails go through", async () => {
    const server = await startLoopbackSmtp();
    const smtp = counted(smtpTransport({ ...h.config, smtpPort: server.port }));
    const log = recordingLogger();
    const start = future();
    let now = start;
    const sender = createMailSender({
      db: h.app.db,
      transport: smtp.transport,
      logger: log.logger,
      poll: false,
      clock: () => now,
      retryBaseMs: 1000,
      maxAttempts: 3,
    });
    try {
      const doomed = await queuedEmail(h, `nobody-${newId()}@test.coursegraph.dev`, start);
      server.rejectRecipient(doomed.toAddress);
      const others = [];
      for (let i = 0; i < 3; i++) others.push(await queuedEmail(h, `fine-${i}-${newId()}@test.coursegraph.dev`, start)); // after the doomed one

      await sender.sendDue();
      expect(sender.outage).toBeNull();
      for (const mail of others) expect(server.to(mail.toAddress)).toHaveLength(1);
      let current = await h.app.db.emailDelivery.findUniqueOrThrow({ where: { id: doomed.id } });
      expect(current).toMatchObject({ status: 'PENDING', attempts: 1 });
      expect(current.lastError).toContain('550');
      expect(current.nextAttemptAt.getTime()).toBe(now.getTime() + 1000);

      now = new Date(now.getTime() + 1000);
      await sender.sendDue();
      current = await h.app.db.emailDelivery.findUniqueOrThrow({ where: { id: doomed.id } });
      expect(current).toMatchObject({ status: 'PENDING', attempts: 2 });
      expect(current.nextAttemptAt.getTime()).toBe(now.getTime() + 2000);

      now = new Date(now.getTime() + 2000);
      await sender.sendDue();
      expect(await h.app.db.emailDelivery.findUniqueOrThrow({ where: { id: doomed.id } })).toMatchObject({
        status: 'FAILED',
        attempts: 3,
      });

      now = new Date(now.getTime() + DAY);
      await sender.sendDue();
      // Three mails once, the doomed one three times, nothing after FAILED (other due rows of the database may have gone too).
      const mine = new Set([doomed, ...others].map((m) => m.toAddress));
      expect(smtp.to.filter((to) => mine.has(to))).toHaveLength(3 + 3);
      expect(server.to(doomed.toAddress)).toEqual([]);
      expect(sender.failures).toBe(3);
      expect(log.warnings()).toEqual(['email send failed', 'email send failed', 'email send failed']);
      const rows = await h.app.db.emailDelivery.findMany({ where: { id: { in: others.map((m) => m.id) } } });
      expect(rows.map((r) => [r.status, r.attempts])).toEqual(others.map(() => ['SENT', 1]));
    } finally {
      smtp.transport.close();
      await server.close();
    }
  });
});
