import { type Server, createServer } from 'node:http';
import { type Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../lib/logger.js';

/**
 * Prometheus `/metrics` for a worker process: process metrics plus whatever the process's
 * activities register (the control worker's latest drift scores, for instance).
 */
export async function startMetricsServer(registry: Registry, host: string, port: number, log: Logger): Promise<Server> {
  collectDefaultMetrics({ register: registry, prefix: 'plumb_worker_' });
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'only GET /metrics is served here' }));
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) })),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  log.info('metrics served', { url: `http://${host}:${port}/metrics` });
  return server;
}
