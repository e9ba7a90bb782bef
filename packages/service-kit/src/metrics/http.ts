/**
 * GET /metrics on a service's own port (server.ts). It must not leak: only loopback and the
 * addresses of METRICS_ALLOWED_CIDRS may read it, judged by the socket's peer (a header can be
 * forged); anyone else gets the same 404 as for any unknown path. Nothing when METRICS=off.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderMetrics } from './registry.js';
import { processMetricsSettings } from './settings.js';

export const METRICS_PATH = '/metrics';

/** Answers a request for METRICS_PATH: the metrics, or 404 when off or when the caller may not read them. */
export async function answerMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { metrics, metricsAllowedCidrs } = processMetricsSettings();
  if (!metrics || !metricsAllowedCidrs.has(req.socket.remoteAddress)) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'not found' }));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'method not allowed' }));
    return;
  }
  const { contentType, body } = await renderMetrics();
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
