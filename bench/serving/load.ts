/**
 * Load generator, run as its own process so it does not share an event loop with the pool:
 * closed loop (`concurrency` requests always in flight) or open loop (`rate` requests per second,
 * latency measured from the scheduled send time so queueing is not hidden). Prints one JSON line.
 */
import { Agent, request } from 'node:http';

interface LoadSpec {
  url: string;
  path: string;
  body: string;
  rows: number;
  concurrency: number;
  durationMs: number;
  rate?: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const target = new URL(spec.path, spec.url);
const agent = new Agent({ keepAlive: true, maxSockets: Math.max(spec.concurrency, 256) });
const latencies: number[] = [];
let errors = 0;

function send(): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(spec.body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(spec.body);
  });
}

const started = performance.now();
const end = started + spec.durationMs;
if (spec.rate) {
  const interval = 1000 / spec.rate;
  const pending: Promise<void>[] = [];
  for (let i = 0; ; i++) {
    const scheduled = started + i * interval;
    if (scheduled >= end) break;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      send().then((status) => {
        if (status !== 200) errors++;
        latencies.push(performance.now() - scheduled);
      }),
    );
  }
  await Promise.all(pending);
} else {
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const status = await send();
        if (status !== 200) errors++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
}
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? 0) * 100) / 100;
process.stdout.write(
  JSON.stringify({ requests: latencies.length, errors, rps: Math.round(latencies.length / elapsed), rowsPerSec: Math.round((latencies.length * spec.rows) / elapsed), p50: q(0.5), p99: q(0.99) }) + '\n',
);
agent.destroy();
