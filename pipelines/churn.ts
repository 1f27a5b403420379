// The example pipeline: a customer-churn classifier on generated data, or on a file you pass.
import { z } from 'zod';
import { CanaryPolicy } from '../lib/canary-contracts.js';
import { MonitorInput } from '../lib/monitor-contracts.js';
import { definePipeline } from '../workflows/pipeline.js';
import { step } from '../workflows/steps.js';
import { churnExpectations, churnFeatureOptions, churnFeaturesSql } from './churn/data.js';

export default definePipeline({
  name: 'churn',
  description: 'Customer churn: ingest → validate → profile → features → split → train (GBDT, logistic baseline) → evaluate → register → approval → promote and serve',
  model: 'churn',
  params: z.object({
    /** A CSV/TSV/Parquet/JSON-lines/Arrow file; generated churn data when absent. */
    input: z.string().optional(),
    rows: z.number().int().min(1000).max(10_000_000).default(50_000),
    seed: z.number().int().default(1),
    testShare: z.number().gt(0).lt(1).default(0.2),
    trees: z.number().int().min(1).max(2000).default(150),
    /** The quality gate: the candidate needs at least this ROC AUC on the test set. */
    minRocAuc: z.number().min(0).max(1).default(0.75),
    /** The registered model the version goes to (`churn`; another name keeps experiments apart). */
    modelName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/).default('churn'),
    /** Who may approve the new version at the gate. */
    approvers: z.array(z.string().min(1)).min(1).default(['ml-lead']),
    approvalTimeout: z.string().default('3 days'),
    /** Promote and serve an approved version (false: stop once it is approved). */
    promote: z.boolean().default(true),
    /**
     * Roll an approved version out by canary against live traffic (docs/lifecycle.md) instead of
     * switching all traffic at once; a model's first version is always promoted directly.
     */
    canary: z.boolean().default(false),
    /** The canary's traffic steps, interval per step and thresholds (defaults: lib/canary-contracts.ts). */
    canaryPolicy: CanaryPolicy.prefault({}),
    /** Drift monitoring of the production version (docs/monitoring.md). */
    monitoring: z
      .strictObject({
        /** Each check covers this many minutes of live predictions. */
        windowMinutes: z.number().int().positive().default(60),
        /** Seconds between checks; the window length by default, so windows tile the log. */
        everySeconds: z.number().int().positive().optional(),
        /** Drifted windows in a row that start retraining. */
        sustainedWindows: z.number().int().positive().default(3),
        thresholds: MonitorInput.shape.thresholds,
      })
      .prefault({}),
  }),
  async run(p) {
    const raw = await step.ingest(p.input ? { path: p.input } : { generate: 'churn', rows: p.rows, seed: p.seed });
    await step.validate(raw, churnExpectations);
    const profile = await step.profile(raw);
    const { dataset, features, label } = await step.features(raw, churnFeaturesSql, churnFeatureOptions);
    const { train, test } = await step.split(dataset, { by: 'customer_id', test: p.testShare, stratify: label });
    const names = features.map((f) => f.name);

    const baseline = await step.train(train, { trainer: 'logreg', label, features: names, name: 'train baseline (logreg)' });
    const baselineReport = await step.evaluate(baseline.model, test, { name: 'evaluate baseline', stopOnFailure: false });
    const candidate = await step.train(train, {
      trainer: 'gbdt',
      label,
      features: names,
      params: { trees: p.trees, seed: p.seed }, // early stopping on a validation part of `train`
    });
    const report = await step.evaluate(candidate.model, test, { gate: { rocAuc: p.minRocAuc } });

    const version = await step.register(p.modelName, candidate, report, [raw, train, test]);
    const decision = await step.approval(version, { approvers: p.approvers, timeout: p.approvalTimeout, reminderEvery: '1 day' });
    const summary = {
      rows: raw.rows,
      features,
      profile,
      model: candidate.model,
      card: candidate.card,
      metrics: report.metrics,
      baseline: baselineReport.metrics,
      gate: report.reasons,
      version: version.version,
      decision,
    };
    if (!decision.approved || !p.promote) return { ...summary, production: false };
    if (p.canary) {
      const rollout = await step.canary(version, p.canaryPolicy);
      if (rollout.rollout === 'canary' && rollout.outcome !== 'promoted') return { ...summary, production: false, rollout: rollout.canary.reason };
    } else {
      await step.promote(version, decision.by, `approved by ${decision.by}`);
    }
    const { everySeconds, ...monitoring } = p.monitoring;
    await step.monitor(
      {
        model: p.modelName,
        version: String(version.version),
        reference: train,
        features,
        ...monitoring,
        // Retraining on generated data draws the next seed: the stand-in for newly collected data.
        retrain: { pipeline: 'churn', params: p.input ? p : { ...p, seed: p.seed + 1 } },
      },
      everySeconds ? { everySeconds } : {},
    );
    return { ...summary, production: true };
  },
});
