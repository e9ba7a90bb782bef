/**
 * A real SMTP server on loopback (smtp-server) that keeps every message it accepts, parsed by
 * mailparser, so tests check mail exactly as a receiving server got it. It can refuse the next
 * messages with a temporary error, or every message to one address with a permanent one, to
 * exercise retries; it can listen on a given port (a server that comes back after an outage).
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** RCPT TO addresses of the SMTP envelope. */
  to: string[];
  from: string;
  parsed: ParsedMail;
}

export interface LoopbackSmtp {
  port: number;
  received: ReceivedMail[];
  /** Messages to one address, in arrival order. */
  to(address: string): ReceivedMail[];
  /** Refuse the next `n` messages with 451 (a temporary failure). */
  refuseNext(n: number): void;
  /** Refuse RCPT TO of this address with 550 (a permanent failure of the messages to it). */
  rejectRecipient(address: string): void;
  close(): Promise<void>;
}

export async function startLoopbackSmtp(options: { port?: number } = {}): Promise<LoopbackSmtp> {
  const received: ReceivedMail[] = [];
  let refusals = 0;
  const rejected = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (rejected.has(address.address.toLowerCase())) {
        callback(Object.assign(new Error('No such user here (test rejection)'), { responseCode: 550 }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (refusals > 0) {
          refusals--;
          const err = Object.assign(new Error('Try again later (test refusal)'), { responseCode: 451 });
          callback(err);
          return;
        }
        simpleParser(Buffer.concat(chunks)).then((parsed) => {
          received.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            parsed,
          });
          callback();
        }, callback);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    to: (address) => received.filter((m) => m.to.includes(address)),
    refuseNext: (n) => {
      refusals = n;
    },
    rejectRecipient: (address) => {
      rejected.add(address.toLowerCase());
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
