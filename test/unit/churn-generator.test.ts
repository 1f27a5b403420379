import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ingestDataset } from '../../activities/data/ingest.js';
import { validateDataset } from '../../activities/data/validate.js';
import { readDatasetColumns } from '../../lib/dataset-columns.js';
import type { ChurnOptionsInput } from '../../lib/data-steps.js';
import { scratch } from './data-fixtures.js';

let s: Awaited<ReturnType<typeof scratch>>;
before(async () => {
  s = await scratch();
});
after(() => s.cleanup());

async function generate(options: Omit<ChurnOptionsInput, 'rows'>) {
  const { dataset } = await ingestDataset({ source: { generate: 'churn', rows: 3000, ...options } }, s.deps);
  return dataset;
}

const mean = (xs: Float64Array) => xs.reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0) / xs.length;

test('clean data has a plausible churn rate and no defects', async () => {
  const dataset = await generate({ seed: 1 });
  const { columns } = await readDatasetColumns(await s.store.localPath(dataset.sha256), ['churned', 'tenure_months']);
  const rate = mean(columns.get('churned') as Float64Array);
  assert.ok(rate > 0.1 && rate < 0.45, `churn rate ${rate}`);
  assert.ok(dataset.columns.every((c) => !c.nullable));
  assert.ok((columns.get('tenure_months') as Float64Array).every((t) => t >= 0 && t <= 72));
});

test('the label follows its rule: month-to-month customers churn more than two-year ones', async () => {
  const dataset = await generate({ seed: 2 });
  const { columns } = await readDatasetColumns(await s.store.localPath(dataset.sha256), ['contract', 'churned']);
  const contract = columns.get('contract') as string[];
  const churned = columns.get('churned') as Float64Array;
  const rateOf = (c: string) => {
    const idx = contract.flatMap((v, i) => (v === c ? [i] : []));
    return idx.reduce((a, i) => a + churned[i]!, 0) / idx.length;
  };
  assert.ok(rateOf('month-to-month') > 2 * rateOf('two-year'));
});

test('defects inject nulls, out-of-range values and wrong types that validation catches', async () => {
  const dataset = await generate({ seed: 3, defects: { nulls: 0.05, outOfRange: 0.05, wrongTypes: 0.05 } });
  assert.equal(dataset.columns.find((c) => c.name === 'tenure_months')!.type, 'string');
  assert.equal(dataset.columns.find((c) => c.name === 'region')!.nullable, true);
  const result = await validateDataset(
    {
      dataset,
      failOnError: false,
      suite: {
        name: 'defects',
        expectations: [
          { type: 'column_type', column: 'tenure_months', columnType: 'integer' },
          { type: 'not_null', column: 'monthly_charges' },
          { type: 'between', column: 'monthly_charges', max: 500 },
        ],
      },
    },
    s.deps,
  );
  assert.equal(result.failed, 3);
});

test('drift shifts the distributions: shorter tenure and higher charges', async () => {
  const path = async (drift: number) => s.store.localPath((await generate({ seed: 4, drift })).sha256);
  const base = await readDatasetColumns(await path(0), ['tenure_months', 'monthly_charges']);
  const drifted = await readDatasetColumns(await path(1), ['tenure_months', 'monthly_charges']);
  assert.ok(mean(drifted.columns.get('tenure_months') as Float64Array) < mean(base.columns.get('tenure_months') as Float64Array) - 5);
  assert.ok(mean(drifted.columns.get('monthly_charges') as Float64Array) > mean(base.columns.get('monthly_charges') as Float64Array) + 10);
});
