#!/usr/bin/env node
// A local mail sink for the demo platform: an SMTP server on loopback that accepts every message,
// writes it as an .eml file to <data dir>/mail/ and logs one JSON line per message (to, subject,
// file). `npm start` runs it and points the notification subgraph at it, so the emails the demo
// sends can be read without a real mail server.
//   node scripts/mail-sink.mjs      (SMTP_PORT, default 2525; COURSEGRAPH_DATA_DIR, default .data)
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, env } from './lib/env.mjs';

export const mailSinkPort = () => Number(env('SMTP_PORT', '2525'));
export const mailDir = () => path.join(path.resolve(env('COURSEGRAPH_DATA_DIR', path.join(ROOT, '.data'))), 'mail');

/**
 * Starts the sink; resolves with `{ port, dir, close() }`, or with `null` when the port is taken
 * (another sink, e.g. of a second `npm start`, already receives the mail).
 */
export async function startMailSink({
  port = mailSinkPort(),
  dir = mailDir(),
  log = (line) => console.log(line),
} = {}) {
  const { SMTPServer } = await import('smtp-server');
  const { simpleParser } = await import('mailparser');
  fs.mkdirSync(dir, { recursive: true });
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    // Loopback only and no credentials: nothing to protect with TLS or AUTH.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', async () => {
        try {
          const raw = Buffer.concat(chunks);
          const parsed = await simpleParser(raw);
          const at = new Date();
          const file = path.join(
            dir,
            `${at.toISOString().replace(/[:.]/g, '-')}-${String(++count).padStart(5, '0')}.eml`,
          );
          fs.writeFileSync(file, raw);
          log(
            JSON.stringify({
              time: at.toISOString(),
              msg: 'mail received',
              to: session.envelope.rcptTo.map((r) => r.address),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
              subject: parsed.subject ?? '',
              messageId: parsed.messageId ?? null,
              file,
            }),
          );
          callback();
        } catch (err) {
          callback(err);
        }
      });
    },
  });
  const listening = await new Promise((resolve, reject) => {
    server.once('error', (err) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!listening) return null;
  return { port, dir, close: () => new Promise((resolve) => server.close(resolve)) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sink = await startMailSink();
  if (!sink) {
    console.error(`mail-sink: port ${mailSinkPort()} is in use (another sink is running?)`);
    process.exit(1);
  }
  console.log(
    JSON.stringify({
      time: new Date().toISOString(),
      msg: 'mail sink listening',
      smtp: `127.0.0.1:${sink.port}`,
      dir: sink.dir,
    }),
  );
  const stop = () => sink.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
