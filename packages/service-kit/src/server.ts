/**
 * The one server bootstrap: an HTTP server around a fetch-style handler (a yoga app), with
 * liveness and readiness probes, Prometheus metrics (/metrics), request ids, one JSON log line per
 * request and graceful shutdown.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import { answerMetrics, METRICS_PATH } from './metrics/http.js';
import { nameMetricsService, serviceOf } from './metrics/registry.js';

export interface ServeOptions {
  /** Handles every request other than the probes (a yoga instance is one). */
  handler: (req: IncomingMessage, res: ServerResponse) => unknown;
  logger: Logger;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Default 127.0.0.1; services sit behind the gateway on the same host. */
  host?: string;
  /**
   * Readiness check for `/readyz`: resolve when dependencies answer, throw otherwise (503). It may
   * resolve with a report instead, answered as it says (the gateway lists its subgraphs' states).
   * Default: always ready.
   */
  ready?: () => Promise<void | ReadinessReport>;
  /** Closes what the service opened (pools, clients), after the last in-flight request. */
  onShutdown?: () => Promise<void>;
  /** Ends long-lived requests (event streams) when shutdown begins, so the drain need not wait for them. */
  beforeDrain?: () => Promise<void>;
  /** How long in-flight requests get to finish before connections are cut. Default 10 000 ms. */
  drainTimeoutMs?: number;
}

/** A readiness answer of the service's own making: its HTTP status and JSON body. */
export interface ReadinessReport {
  /** 200 (ready, or still useful) or 503 (take it out of rotation). */
  httpStatus: 200 | 503;
  body: Record<string, unknown>;
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (bounded), then runs onShutdown. Idempotent. */
  shutdown(reason?: string): Promise<void>;
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { logger } = options;
  // The process's metrics carry the service this server runs.
  nameMetricsService(serviceOf(logger));
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | null = null;

  const server = createServer((req, res) => {
    const requestId = headerValue(req.headers['x-request-id']) ?? randomUUID();
    req.headers['x-request-id'] = requestId;
    res.setHeader('x-request-id', requestId);
    const started = performance.now();
    inFlight++;
    res.on('close', () => {
      inFlight--;
      logger.info(
        {
          requestId,
          method: req.method,
          path: req.url?.split('?')[0],
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
      if (draining && inFlight === 0) drained?.();
    });
    if (draining) res.setHeader('connection', 'close');

    const path = req.url?.split('?')[0];
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      if (draining) return json(res, 503, { status: 'shutting down' });
      return void (options.ready ?? (async () => {}))().then(
        (report) => (report ? json(res, report.httpStatus, report.body) : json(res, 200, { status: 'ready' })),
        (err: Error) => {
          logger.warn({ err: err.message }, 'not ready');
          json(res, 503, { status: 'not ready', reason: err.message });
        },
      );
    }
    // Prometheus, for loopback and METRICS_ALLOWED_CIDRS only (metrics/http.ts).
    if (path === METRICS_PATH)
      return void answerMetrics(req, res).catch((err: Error) => {
        logger.error({ err: err.message }, 'metrics scrape failed');
        if (!res.headersSent) json(res, 500, { status: 'metrics unavailable' });
        else res.end();
      });
    return options.handler(req, res);
  });
  // Longer than any proxy's idle timeout, so pooled keep-alive connections are not cut mid-reuse.
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After start-up a server error (say, a socket fault) is logged, never fatal.
  server.on('error', (err) => logger.error({ err }, 'http server error'));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;

  let shutdownPromise: Promise<void> | null = null;
  const shutdown = (reason = 'shutdown') =>
    (shutdownPromise ??= (async () => {
      logger.info({ reason, inFlight }, 'shutting down: draining in-flight requests');
      draining = true;
      await options
        .beforeDrain?.()
        .catch((err: Error) => logger.warn({ err: err.message }, 'ending long-lived requests failed'));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => setTimeout(resolve, options.drainTimeoutMs ?? 10_000).unref()),
        ]);
      }
      server.closeAllConnections();
      await closed;
      await options.onShutdown?.();
      logger.info('stopped');
    })());

  return { server, url, port, shutdown };
}

/** Shuts the server down on SIGTERM/SIGINT, then exits; for a service's main module. */
export function shutdownOnSignals(running: RunningServer, logger: Logger): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.shutdown(signal).then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  // Accept a caller's id only when it is short and printable, so it cannot pollute the logs.
  return v && /^[\w.:-]{1,128}$/.test(v) ? v : undefined;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
