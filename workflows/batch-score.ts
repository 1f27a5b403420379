import { ApplicationFailure, type ActivityInterfaceFor, continueAsNew, defineQuery, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createBatchScoringActivities } from '../activities/batch-scoring.js';
import {
  BatchScoreInput,
  type BatchProgress,
  type BatchScoreResult,
  type BatchScoreState,
  BATCH_PROGRESS_QUERY,
  type ScoredPart,
} from '../lib/batch-score-contracts.js';
import type { createBatchChunkActivities } from '../serving/batch-chunk.js';
import type { ServingActivities } from '../serving/control-activities.js';

type Control = ReturnType<typeof createBatchScoringActivities>;
type Chunks = ReturnType<typeof createBatchChunkActivities>;

const NON_RETRYABLE = ['PlumbBadInput', 'PlumbDataQuality', 'PlumbNotFound', 'PlumbConflict', 'PlumbIntegrity'];

const control = proxyActivities<Control>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE },
});

function servingQueue(taskQueue: string): ActivityInterfaceFor<Chunks & Pick<ServingActivities, 'servingLoadVersion'>> {
  return proxyActivities<Chunks & Pick<ServingActivities, 'servingLoadVersion'>>({
    taskQueue,
    startToCloseTimeout: '10 minutes',
    // A killed pool process is noticed after this long, and its chunk runs again elsewhere.
    heartbeatTimeout: '15 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds', nonRetryableErrorTypes: NON_RETRYABLE },
  });
}

export const batchProgressQuery = defineQuery<BatchProgress>(BATCH_PROGRESS_QUERY);

/**
 * Scores a dataset (or any file ingest reads) with a registered model version on the serving
 * pools: resolve the version, validate and stage the rows (rejects set aside with reasons), load
 * the version on the pools, score fixed row-range chunks with bounded parallelism, then
 * concatenate the parts in chunk order. Finished chunks live in workflow state (and in
 * `continueAsNew`'s carried state), so a crash of any process resumes from them; a retried chunk
 * rewrites the same content-addressed part, so nothing is lost or written twice.
 */
export async function batchScore(raw: BatchScoreInput, carried?: BatchScoreState): Promise<BatchScoreResult> {
  const parsed = BatchScoreInput.safeParse(raw);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`batchScore input: ${parsed.error.message}`, 'PlumbBadInput');
  const p = parsed.data;
  const progress: BatchProgress = { stage: 'preparing', chunksDone: 0, chunksTotal: 0, rowsDone: 0, rowsTotal: 0 };
  setHandler(batchProgressQuery, () => progress);

  let state = carried;
  if (!state) {
    setCurrentDetails(`resolving **${p.model}** ${p.version}`);
    const model = await control.batchResolveModel({ model: p.model, version: p.version });
    setCurrentDetails(`validating the input against **${p.model}** v${model.version}`);
    const prepared = await control.batchPrepare({ input: p.input, model: model.ref, idColumns: p.idColumns, maxRejectShare: p.maxRejectShare, chunkRows: p.chunkRows });
    state = { model, prepared, scoredAt: p.scoredAt ?? workflowInfo().runStartTime.toISOString(), parts: [] };
  }
  const { model, prepared } = state;
  const pool = servingQueue(p.servingTaskQueue);
  await pool.servingLoadVersion({ model: model.model, version: model.version, ref: model.ref, activate: 'none' });

  const done = new Map<number, ScoredPart>(state.parts.map((part) => [part.chunk, part]));
  const report = () => {
    Object.assign(progress, {
      stage: 'scoring',
      chunksDone: done.size,
      chunksTotal: prepared.chunks,
      rowsDone: [...done.values()].reduce((n, part) => n + part.rows, 0),
      rowsTotal: prepared.valid.rows,
    });
    setCurrentDetails(`scoring **${model.model}** v${model.version}: ${done.size} / ${prepared.chunks} chunks`);
  };
  report();
  const todo = Array.from({ length: prepared.chunks }, (_, i) => i).filter((i) => !done.has(i));
  const thisRun = todo.slice(0, p.chunksPerRun);
  let next = 0;
  const lane = async () => {
    while (next < thisRun.length) {
      const chunk = thisRun[next++]!;
      const part = await pool.batchScoreChunk({ model, valid: prepared.valid, idColumns: p.idColumns, chunk, chunkRows: p.chunkRows, scoredAt: state.scoredAt });
      done.set(chunk, part);
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.min(p.parallelism, thisRun.length) }, lane));
  if (done.size < prepared.chunks) {
    await continueAsNew<typeof batchScore>(raw, { ...state, parts: [...done.values()] });
  }

  progress.stage = 'assembling';
  setCurrentDetails(`writing the output of **${model.model}** v${model.version}`);
  const parts = [...done.values()].sort((a, b) => a.chunk - b.chunk);
  const assembled = await control.batchAssemble({ parts, ...(p.out ? { out: p.out } : {}), source: `${model.model} v${model.version} scores of ${prepared.valid.sha256.slice(0, 12)}` });
  progress.stage = 'done';
  setCurrentDetails(`scored ${assembled.output.rows} rows with **${model.model}** v${model.version}`);
  return {
    output: assembled.output,
    ...(assembled.out ? { out: assembled.out } : {}),
    ...(prepared.rejects ? { rejects: prepared.rejects } : {}),
    model: model.model,
    version: model.version,
    rows: { input: prepared.inputRows, scored: assembled.output.rows, rejected: prepared.rejectedRows },
    chunks: prepared.chunks,
  };
}
