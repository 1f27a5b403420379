import { PlumbError, badInput } from '../../lib/errors.js';
import {
  PerformanceResult,
  performanceBreaches,
  type PerformanceInput,
  type PerformanceWindow,
} from '../../lib/metrics/windowed-performance.js';
import { columnTypes, fileView, ident, openSqlSession, requireColumn } from './duckdb-session.js';

/**
 * Joins delayed ground truth with the prediction log in DuckDB and computes, per time window
 * (`windowMinutes`, aligned to the epoch), accuracy, ROC AUC (Mann–Whitney: average ranks for
 * tied probabilities), Brier score and calibration over equal-width probability bins. Ground truth
 * must hold one row per key; labels must be 0/1 (or booleans).
 *
 *   const perf = await computePerformance(PerformanceInput.parse({ predictions: 'log/*.parquet', groundTruth: 'labels.csv', thresholds: { rocAuc: 0.8 } }));
 */
export async function computePerformance(input: PerformanceInput): Promise<PerformanceResult> {
  const session = await openSqlSession();
  try {
    await fileView(session, 'log', input.predictions, 'predictions');
    await fileView(session, 'truth', input.groundTruth, 'groundTruth');
    const logTypes = await columnTypes(session, 'log');
    const truthTypes = await columnTypes(session, 'truth');
    requireColumn(logTypes, input.key.predictions, false, 'key.predictions', 'prediction log');
    requireColumn(logTypes, input.predictedLabelColumn, true, 'predictedLabelColumn', 'prediction log');
    requireColumn(logTypes, input.probabilityColumn, true, 'probabilityColumn', 'prediction log');
    requireColumn(logTypes, input.timeColumn, false, 'timeColumn', 'prediction log');
    requireColumn(truthTypes, input.key.groundTruth, false, 'key.groundTruth', 'ground truth');
    requireColumn(truthTypes, input.labelColumn, true, 'labelColumn', 'ground truth');

    const truthKey = ident(input.key.groundTruth);
    const [dupes] = await session.rows(
      `SELECT count(*)::BIGINT AS n FROM (SELECT ${truthKey} FROM truth GROUP BY ${truthKey} HAVING count(*) > 1)`,
    );
    if (Number(dupes?.n) > 0) {
      throw new PlumbError('DataQuality', `groundTruth: ${dupes?.n} keys in "${input.key.groundTruth}" have more than one label; expected one row per key`);
    }
    const y = `CAST(t.${ident(input.labelColumn)} AS INTEGER)`;
    const [bad] = await session.rows(`SELECT count(*)::BIGINT AS n FROM truth t WHERE ${y} NOT IN (0, 1) OR ${y} IS NULL`);
    if (Number(bad?.n) > 0) throw new PlumbError('DataQuality', `groundTruth: ${bad?.n} labels in "${input.labelColumn}" are not 0 or 1`);

    const B = input.calibrationBins;
    await session
      .run(
        `
      CREATE TEMP TABLE joined AS
      SELECT time_bucket(INTERVAL ${input.windowMinutes} MINUTE, CAST(l.${ident(input.timeColumn)} AS TIMESTAMP)) AS w,
             ${y} AS y,
             CAST(l.${ident(input.predictedLabelColumn)} AS INTEGER) AS yhat,
             CAST(l.${ident(input.probabilityColumn)} AS DOUBLE) AS p
      FROM log l JOIN truth t ON CAST(l.${ident(input.key.predictions)} AS VARCHAR) = CAST(t.${truthKey} AS VARCHAR)`,
      )
      .catch((err: unknown) => {
        // Conversions fail here: a time that is not a timestamp, a probability that is not a number.
        throw badInput(`predictions: ${(err as Error).message.split('\n')[0]} (timeColumn "${input.timeColumn}", probabilityColumn "${input.probabilityColumn}")`);
      });
    const [counts] = await session.rows(`SELECT (SELECT count(*) FROM log)::BIGINT AS total, (SELECT count(*) FROM joined)::BIGINT AS labelled`);

    const summary = await session.rows(`
      WITH ranked AS (
        SELECT w, y, p, rank() OVER (PARTITION BY w ORDER BY p) + (count(*) OVER (PARTITION BY w, p) - 1) / 2.0 AS r FROM joined)
      SELECT strftime(w, '%Y-%m-%dT%H:%M:%S.000Z') AS start,
             count(*)::BIGINT AS n, sum(y)::BIGINT AS pos,
             (sum(r) FILTER (WHERE y = 1) - sum(y) * (sum(y) + 1) / 2.0) / (sum(y) * (count(*) - sum(y)))::DOUBLE AS auc
      FROM ranked GROUP BY w ORDER BY w`);
    const scores = await session.rows(`
      SELECT strftime(w, '%Y-%m-%dT%H:%M:%S.000Z') AS start, avg((y = yhat)::INTEGER) AS accuracy, avg((p - y) * (p - y)) AS brier
      FROM joined GROUP BY w`);
    const bins = await session.rows(`
      SELECT strftime(w, '%Y-%m-%dT%H:%M:%S.000Z') AS start, least(greatest(CAST(floor(p * ${B}) AS INTEGER), 0), ${B - 1}) AS bin,
             count(*)::BIGINT AS n, avg(p) AS mean_p, avg(y) AS rate
      FROM joined GROUP BY ALL ORDER BY start, bin`);

    const windows: PerformanceWindow[] = summary.map((s) => {
      const start = String(s.start);
      const score = scores.find((x) => x.start === start);
      const n = Number(s.n);
      const pos = Number(s.pos);
      const calibration = bins
        .filter((b) => b.start === start)
        .map((b) => ({
          lower: Number(b.bin) / B,
          upper: (Number(b.bin) + 1) / B,
          count: Number(b.n),
          meanPredicted: Number(b.mean_p),
          observedRate: Number(b.rate),
        }));
      return {
        start,
        labelled: n,
        positives: pos,
        accuracy: Number(score?.accuracy),
        rocAuc: pos === 0 || pos === n ? null : Number(s.auc),
        brier: Number(score?.brier),
        calibrationError: calibration.reduce((sum, b) => sum + (b.count / n) * Math.abs(b.meanPredicted - b.observedRate), 0),
        calibration,
      };
    });
    return PerformanceResult.parse({
      windows,
      unlabelled: Number(counts?.total) - Number(counts?.labelled),
      breaches: performanceBreaches(windows, input.thresholds),
    });
  } finally {
    session.close();
  }
}
