import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { literal, openSqlSession } from '../../activities/monitoring/duckdb-session.js';
import { computePerformance } from '../../activities/monitoring/performance.js';
import { PlumbError } from '../../lib/errors.js';
import { PerformanceInput } from '../../lib/metrics/windowed-performance.js';

describe('performance with delayed labels', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-perf-'));
    const session = await openSqlSession();
    try {
      // Window 10:00 — AUC 0.75, accuracy 0.75; window 11:00 — a tie at 0.5, AUC 0.875; r9 has no label yet.
      await session.run(`COPY (SELECT * FROM (VALUES
        ('r1', TIMESTAMP '2026-11-20 10:05:00', 0, 0.1::DOUBLE),
        ('r2', TIMESTAMP '2026-11-20 10:15:00', 0, 0.4),
        ('r3', TIMESTAMP '2026-11-20 10:25:00', 0, 0.35),
        ('r4', TIMESTAMP '2026-11-20 10:35:00', 1, 0.8),
        ('r5', TIMESTAMP '2026-11-20 11:05:00', 1, 0.5),
        ('r6', TIMESTAMP '2026-11-20 11:15:00', 1, 0.5),
        ('r7', TIMESTAMP '2026-11-20 11:25:00', 1, 0.9),
        ('r8', TIMESTAMP '2026-11-20 11:35:00', 0, 0.2),
        ('r9', TIMESTAMP '2026-11-20 11:45:00', 0, 0.3)
      ) AS t(request_id, time, label, probability)) TO ${literal(join(dir, 'log.parquet'))} (FORMAT parquet)`);
    } finally {
      session.close();
    }
    await writeFile(join(dir, 'truth.csv'), 'request_id,label\nr1,0\nr2,0\nr3,1\nr4,1\nr5,1\nr6,0\nr7,1\nr8,0\n');
    await writeFile(join(dir, 'dupes.csv'), 'request_id,label\nr1,0\nr1,1\n');
    await writeFile(join(dir, 'bad-labels.csv'), 'request_id,label\nr1,0\nr2,2\n');
    await writeFile(join(dir, 'bad-time.csv'), 'request_id,time,label,probability\nr1,not-a-time,0,0.1\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const input = (extra: Record<string, unknown> = {}) =>
    PerformanceInput.parse({ predictions: join(dir, 'log.parquet'), groundTruth: join(dir, 'truth.csv'), ...extra });

  test('computes accuracy, ROC AUC (ties averaged), Brier and calibration per hourly window', async () => {
    const result = await computePerformance(input());
    assert.equal(result.unlabelled, 1);
    assert.deepEqual(
      result.windows.map((w) => [w.start, w.labelled, w.positives, w.accuracy, w.rocAuc]),
      [
        ['2026-11-20T10:00:00.000Z', 4, 2, 0.75, 0.75],
        ['2026-11-20T11:00:00.000Z', 4, 2, 0.75, 0.875],
      ],
    );
    const first = result.windows[0]!;
    assert.equal(first.brier.toFixed(12), (0.6325 / 4).toFixed(12));
    assert.equal(first.calibrationError.toFixed(12), (1.35 / 4).toFixed(12));
    assert.deepEqual(first.calibration.map((b) => [b.lower, b.count, b.observedRate]), [[0.1, 1, 0], [0.3, 1, 1], [0.4, 1, 0], [0.8, 1, 1]]);
  });

  test('reports a breach when the latest judged window falls below a threshold', async () => {
    const result = await computePerformance(input({ thresholds: { rocAuc: 0.8, accuracy: 0.7, minLabelled: 4 } }));
    assert.deepEqual(result.breaches, []);
    const failing = await computePerformance(input({ thresholds: { rocAuc: 0.9, minLabelled: 4 } }));
    assert.deepEqual(failing.breaches, [{ window: '2026-11-20T11:00:00.000Z', metric: 'rocAuc', value: 0.875, threshold: 0.9 }]);
  });

  test('does not judge windows with fewer labels than minLabelled', async () => {
    const result = await computePerformance(input({ thresholds: { rocAuc: 0.99, minLabelled: 5 } }));
    assert.deepEqual(result.breaches, []);
  });

  test('rejects ground truth with more than one label per key', async () => {
    await assert.rejects(
      computePerformance(input({ groundTruth: join(dir, 'dupes.csv') })),
      (err: unknown) => err instanceof PlumbError && err.kind === 'DataQuality' && err.message.includes('1 keys in "request_id" have more than one label'),
    );
  });

  test('rejects labels other than 0 and 1', async () => {
    await assert.rejects(
      computePerformance(input({ groundTruth: join(dir, 'bad-labels.csv') })),
      (err: unknown) => err instanceof PlumbError && err.kind === 'DataQuality' && err.message.includes('are not 0 or 1'),
    );
  });

  test('a time column that is not a timestamp is a BadInput error naming it', async () => {
    await assert.rejects(
      computePerformance(input({ predictions: join(dir, 'bad-time.csv') })),
      (err: unknown) => err instanceof PlumbError && err.kind === 'BadInput' && err.message.startsWith('predictions: Conversion Error') && err.message.endsWith('(timeColumn "time", probabilityColumn "probability")'),
    );
  });

  test('names a missing join column', async () => {
    await assert.rejects(
      computePerformance(input({ key: { predictions: 'request_id', groundTruth: 'customer_id' } })),
      (err: unknown) => err instanceof PlumbError && err.kind === 'BadInput' && err.message === 'key.groundTruth: no column "customer_id" in the ground truth data',
    );
  });
});
