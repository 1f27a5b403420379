import { formatIssues } from '../../lib/zod-issues.js';
import { FeaturesInput, type FeaturesResult } from '../../lib/data-steps.js';
import { describeQuery, logicalTypes, withDuckDB } from '../../lib/duckdb.js';
import { badInput } from '../../lib/errors.js';
import { type ProgressSink, ignoreProgress } from '../../lib/progress.js';
import type { Feature } from '../../lib/refs.js';
import { type DataDeps, datasetSource, storeJson, writeDataset } from './dataset-writer.js';

/**
 * Features step: runs the pipeline's SQL over the input dataset, exposed as the view `input`, and
 * stores the result as a new dataset. The feature schema (names, order, types) the model will see
 * is every output column except the label and `exclude`: numbers and booleans are numeric
 * features, text is categorical. It is returned and stored as a JSON artifact.
 *
 *   const { dataset, features } = await buildFeatures(
 *     { dataset: raw, sql: 'SELECT customer_id, tenure_months, ln(1 + usage_gb) AS log_usage, churned FROM input',
 *       label: 'churned', exclude: ['customer_id'] }, { store, log });
 */
export async function buildFeatures(input: FeaturesInput, deps: DataDeps, progress: ProgressSink = ignoreProgress): Promise<FeaturesResult> {
  const parsed = FeaturesInput.safeParse(input);
  if (!parsed.success) throw badInput(`features: ${formatIssues(parsed.error)}`);
  const { dataset, sql, label, exclude } = parsed.data;
  const source = await datasetSource(deps.store, dataset);
  return withDuckDB(
    async (db) => {
      await db.run(`CREATE VIEW input AS SELECT * FROM ${source}`);
      const select = sql.trim().replace(/;\s*$/, '');
      const described = await describeQuery(db, `(${select})`).catch((err: Error) => {
        throw badInput(`features: the SQL does not run over the view "input": ${err.message}`);
      });
      const columns = logicalTypes(described, 'features');
      const names = columns.map((c) => c.name);
      if (new Set(names).size !== names.length) throw badInput(`features: the SQL returns duplicate column names (${names.join(', ')})`);
      if (!names.includes(label)) throw badInput(`features: the label "${label}" is not among the SQL's columns (${names.join(', ')})`);
      const unknown = exclude.filter((e) => !names.includes(e));
      if (unknown.length) throw badInput(`features: excluded column "${unknown[0]}" is not among the SQL's columns`);
      const features: Feature[] = columns
        .filter((c) => c.name !== label && !exclude.includes(c.name))
        .map((c) => {
          if (c.type === 'date' || c.type === 'timestamp') {
            throw badInput(`features: column "${c.name}" is a ${c.type}; turn it into a number (e.g. days since) or exclude it`);
          }
          return { name: c.name, type: c.type === 'string' ? 'categorical' : 'numeric' };
        });
      if (features.length === 0) throw badInput('features: the SQL returns no feature columns besides the label and excluded ones');
      const written = await writeDataset(db, select, deps, `features of ${dataset.sha256.slice(0, 12)}`, {
        progress: { sink: progress, stage: 'features' },
      });
      const schema = await storeJson(deps.store, { dataset: written.dataset.sha256, input: dataset.sha256, sql: select, label, features });
      deps.log.info('built features', { input: dataset.sha256, dataset: written.dataset.sha256, features: features.length });
      return { dataset: written.dataset, features, label, schema };
    },
    { threads: deps.threads },
  );
}
