import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseShift, startTraffic } from '../../cli/traffic.js';
import { PlumbError } from '../../lib/errors.js';

describe('traffic generator', () => {
  // A stand-in for the pool's predict endpoint: answers version 7, or 503 for region "south".
  const received: Record<string, unknown>[] = [];
  let server: Server;
  let url: string;
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const instance = (JSON.parse(body) as { instances: Record<string, unknown>[] }).instances[0]!;
        received.push(instance);
        const down = instance.region === 'south';
        res.writeHead(down ? 503 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(down ? { error: 'overloaded' } : { version: '7', predictions: [] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('sends rows in turn at the rate, applies shifts from when they are set, and counts answers and failures', async () => {
    const rows = [
      { monthly_charges: 10, support_calls: 1, region: 'north' },
      { monthly_charges: 20, support_calls: 2, region: 'south' },
    ];
    const traffic = startTraffic({ url, model: 'churn', rows, ratePerSecond: 100 });
    while (traffic.stats().ok + traffic.stats().failed < 4) await new Promise((r) => setTimeout(r, 10));
    traffic.shift([parseShift('monthly_charges*1.5'), parseShift('support_calls+3')]);
    const before = traffic.stats().sent;
    while (traffic.stats().sent < before + 4) await new Promise((r) => setTimeout(r, 10));
    const stats = await traffic.stop();
    assert.equal(stats.ok + stats.failed, stats.sent);
    assert.equal(stats.byVersion['7'], stats.ok);
    assert.ok(stats.failed >= 2 && stats.ok >= 2, JSON.stringify(stats));
    assert.equal(stats.lastError, '503: overloaded');
    const byRegion = (list: Record<string, unknown>[]) => [...list].sort((a, b) => String(a.region).localeCompare(String(b.region)));
    assert.deepEqual(byRegion(received.slice(0, 2)), rows);
    const last = byRegion(received.slice(-2));
    assert.deepEqual(last, [
      { monthly_charges: 15, support_calls: 4, region: 'north' },
      { monthly_charges: 30, support_calls: 5, region: 'south' },
    ]);
  });

  test('an unreachable pool counts as failures, not a crash', async () => {
    const traffic = startTraffic({ url: 'http://127.0.0.1:1', model: 'churn', rows: [{ a: 1 }], ratePerSecond: 50 });
    while (traffic.stats().failed < 2) await new Promise((r) => setTimeout(r, 10));
    const stats = await traffic.stop();
    assert.equal(stats.ok, 0);
    assert.equal(stats.failed, stats.sent);
  });

  test('shifts and options are checked', () => {
    assert.deepEqual(parseShift('support_calls+3'), { column: 'support_calls', op: 'add', by: 3 });
    assert.deepEqual(parseShift(' monthly_charges*0.5 '), { column: 'monthly_charges', op: 'scale', by: 0.5 });
    assert.deepEqual(parseShift('tenure+-2'), { column: 'tenure', op: 'add', by: -2 });
    assert.throws(() => parseShift('tenure=3'), (e: unknown) => e instanceof PlumbError && e.kind === 'BadInput' && /--shift "tenure=3"/.test(e.message));
    assert.throws(() => startTraffic({ url, model: 'churn', rows: [], ratePerSecond: 1 }), /no rows to send/);
    assert.throws(() => startTraffic({ url, model: 'churn', rows: [{}], ratePerSecond: 0 }), /expected a positive number/);
  });
});
