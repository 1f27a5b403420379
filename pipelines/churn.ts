// The example pipeline: a customer-churn classifier on generated data, or on a file you pass.
import { z } from 'zod';
import { definePipeline } from '../workflows/pipeline.js';
import { step } from '../workflows/steps.js';
import { churnExpectations, churnFeatureOptions, churnFeaturesSql } from './churn/data.js';

export default definePipeline({
  name: 'churn',
  description: 'Customer churn: ingest, validate, profile, features, split',
  model: 'churn',
  params: z.object({
    /** A CSV/TSV/Parquet/JSON-lines/Arrow file; generated churn data when absent. */
    input: z.string().optional(),
    rows: z.number().int().min(1000).max(10_000_000).default(50_000),
    seed: z.number().int().default(1),
    testShare: z.number().gt(0).lt(1).default(0.2),
  }),
  async run(p) {
    const raw = await step.ingest(p.input ? { path: p.input } : { generate: 'churn', rows: p.rows, seed: p.seed });
    const report = await step.validate(raw, churnExpectations);
    const profile = await step.profile(raw);
    const { dataset, features, label } = await step.features(raw, churnFeaturesSql, churnFeatureOptions);
    const { train, test } = await step.split(dataset, { by: 'customer_id', test: p.testShare, stratify: label });
    return { rows: raw.rows, columns: raw.columns.map((c) => c.name), features, label, train, test, validation: report, profile };
  },
});
