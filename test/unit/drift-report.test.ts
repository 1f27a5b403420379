import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { computeDrift } from '../../activities/monitoring/drift.js';
import { renderDriftReport, writeDriftReport } from '../../activities/monitoring/drift-report.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { DriftInput, type DriftResult } from '../../lib/drift-contracts.js';
import type { PerformanceResult } from '../../lib/metrics/windowed-performance.js';

const VOID = new Set(['meta', 'link', 'br', 'img', 'input', 'hr', 'col', 'source', 'wbr']);

/** Every element closed in order (void elements and self-closed SVG shapes aside); returns the problems. */
function unbalancedTags(html: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  const body = html.replace(/<!DOCTYPE[^>]*>/i, '').replace(/<style>[\s\S]*?<\/style>/, '<style></style>');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    const tag = name!.toLowerCase();
    if (selfClosing || VOID.has(tag)) continue;
    if (!closing) stack.push(tag);
    else if (stack.pop() !== tag) problems.push(`unexpected </${tag}> at ${m.index}`);
  }
  return [...problems, ...stack.map((t) => `unclosed <${t}>`)];
}

const performance: PerformanceResult = {
  windows: ['10', '11', '12'].map((hour, i) => ({
    start: `2026-11-20T${hour}:00:00.000Z`,
    labelled: 100,
    positives: 30,
    accuracy: 0.9 - i * 0.05,
    rocAuc: 0.85 - i * 0.04,
    brier: 0.1,
    calibrationError: 0.03,
    calibration: [{ lower: 0, upper: 0.1, count: 100, meanPredicted: 0.05, observedRate: 0.06 }],
  })),
  unlabelled: 12,
  breaches: [{ window: '2026-11-20T12:00:00.000Z', metric: 'rocAuc', value: 0.77, threshold: 0.8 }],
};

describe('drift report', () => {
  let drift: DriftResult;
  let dir: string;
  const names = ['num_stable', 'num_shifted', 'num_nulls', 'cat_stable', 'cat_shifted'];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-report-'));
    drift = await computeDrift(
      DriftInput.parse({
        reference: 'test/fixtures/drift/small-reference.parquet',
        current: 'test/fixtures/drift/small-current.parquet',
        features: names.map((name) => ({ name, type: name.startsWith('num') ? 'numeric' : 'categorical' })),
        predictions: { columns: [{ name: 'probability', type: 'numeric' }, { name: 'label', type: 'categorical', referenceName: 'label_train' }] },
      }),
      {},
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('is well-formed, self-contained HTML with a histogram and verdict for every column', () => {
    const html = renderDriftReport({ title: 'churn v3 — drift', generatedAt: '2026-11-27T03:00:00.000Z', drift, performance });
    assert.deepEqual(unbalancedTags(html), []);
    assert.doesNotMatch(html, /<script|<link|src=|@import|url\(/);
    for (const name of [...names, 'probability', 'label']) {
      assert.match(html, new RegExp(`<figure class="card[^"]*" id="col-${name}">`), `${name} has a card`);
    }
    assert.equal(html.match(/<svg /g)?.length, names.length + 2 + 1);
    assert.match(html, /Prediction drift/);
    assert.match(html, /Threshold breached: rocAuc 0.77 \(threshold 0.8\)/);
  });

  test('escapes column names', () => {
    const hostile = { ...drift, features: drift.features.map((f, i) => (i === 0 ? { ...f, name: '<img onerror=x>&"' } : f)) };
    const html = renderDriftReport({ title: 't', generatedAt: 'now', drift: hostile });
    assert.doesNotMatch(html, /<img onerror/);
    assert.match(html, /&#60;img onerror=x&#62;&#38;&#34;/);
  });

  test('is stored as an immutable text/html artifact', async () => {
    const store = new LocalArtifactStore(join(dir, 'artifacts'));
    const input = { title: 'churn', generatedAt: '2026-11-27T03:00:00.000Z', drift };
    const ref = await writeDriftReport(input, store);
    assert.equal(ref.mediaType, 'text/html; charset=utf-8');
    assert.equal(await readFile(await store.localPath(ref.sha256), 'utf8'), renderDriftReport(input));
  });
});
