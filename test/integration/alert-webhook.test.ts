import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { dispatchAlerts, webhookSink } from '../../activities/monitoring/alerts.js';
import { emptyAlertState, type Alert } from '../../lib/alerts.js';
import { PlumbError } from '../../lib/errors.js';

describe('webhook alert sink', () => {
  let server: Server;
  let base: string;
  const received: { path: string; contentType: string | undefined; body: unknown }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/fail') {
          res.writeHead(500).end('boom');
          return;
        }
        received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const alert: Alert = { key: 'drift/churn/dataset', severity: 'critical', title: 'churn drifted', message: 'age, tenure', model: 'churn', details: { share: 0.5 } };

  test('posts each due alert once over repeated windows of the same problem', async () => {
    received.length = 0;
    const sink = webhookSink({ url: `${base}/hook` });
    let state = emptyAlertState();
    for (let minute = 0; minute < 5; minute++) {
      const now = new Date(Date.UTC(2026, 10, 27, 0, minute * 15)).toISOString();
      ({ state } = await dispatchAlerts({ alerts: [alert], state, now, repeatIntervalMs: 3600_000 }, [sink]));
    }
    assert.deepEqual(received, [{ path: '/hook', contentType: 'application/json', body: { alerts: [alert] } }, { path: '/hook', contentType: 'application/json', body: { alerts: [alert] } }]);
  });

  test('a failing receiver is a retryable Unavailable error naming the status', async () => {
    const sink = webhookSink({ url: `${base}/fail` });
    await assert.rejects(sink.send([alert]), (err: unknown) => err instanceof PlumbError && err.kind === 'Unavailable' && err.retryable && err.message === `webhook ${base}/fail answered 500 Internal Server Error`);
  });

  test('rejects a non-http webhook url', () => {
    assert.throws(() => webhookSink({ url: 'file:///etc/passwd' }), /webhook url: expected http\(s\), got file:/);
  });
});
