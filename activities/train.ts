import { z } from 'zod';
import type { ArtifactStore } from '../lib/artifact-store.js';
import { readDatasetColumns } from '../lib/dataset-columns.js';
import { MODEL_CARD_MEDIA_TYPE, type ModelCard } from '../lib/model-card.js';
import { artifactUri, DatasetRef, type ArtifactRef, type Feature, type ModelRef } from '../lib/refs.js';
import type { StepContext } from './define-activity.js';
import { BUILTIN_TRAINER_VERSION, BuiltinTrainerName, trainBuiltin } from './trainers/builtin-trainer.js';

export const TrainInput = z.object({
  dataset: DatasetRef,
  label: z.string().min(1),
  trainer: BuiltinTrainerName,
  features: z.array(z.string().min(1)).min(1).optional(),
  /** Trainer parameters (see GbdtParams, LogisticRegressionParams); unknown keys are rejected. */
  params: z.record(z.string(), z.unknown()).default({}),
});
export type TrainInput = z.input<typeof TrainInput>;

export interface TrainResult {
  model: ModelRef;
  card: ArtifactRef;
  metrics: Record<string, number>;
}

/**
 * The `train` step with a built-in trainer: reads the dataset, trains, and stores model.onnx and
 * its model card. Same dataset, parameters and seed → the same model sha256, so a retried step
 * stores nothing new.
 */
export async function trainStep(input: z.output<typeof TrainInput>, deps: { store: ArtifactStore }, ctx: Pick<StepContext, 'log' | 'progress' | 'signal'>): Promise<TrainResult> {
  const path = await deps.store.localPath(input.dataset.sha256);
  const columns = await readDatasetColumns(path, input.features ? [...input.features, input.label] : undefined);
  const result = await trainBuiltin(
    columns,
    { trainer: input.trainer, label: input.label, features: input.features, params: input.params },
    ctx.progress,
    ctx.signal,
  );
  const stored = await deps.store.put(result.onnx);
  ctx.log.info('model trained', { trainer: input.trainer, sha256: stored.sha256, seconds: result.trainingSeconds, ...result.metrics });
  return storeModelAndCard(deps.store, {
    modelSha256: stored.sha256,
    modelBytes: stored.bytes,
    trainer: { name: input.trainer, version: BUILTIN_TRAINER_VERSION },
    label: input.label,
    features: result.features,
    parameters: result.parameters,
    seed: result.seed,
    datasets: { train: input.dataset },
    metrics: result.metrics,
    trainingSeconds: result.trainingSeconds,
  });
}

export interface ModelFacts {
  modelSha256: string;
  modelBytes: number;
  trainer: { name: string; version: string };
  label: string;
  features: Feature[];
  parameters: Record<string, unknown>;
  seed: number | null;
  datasets: ModelCard['datasets'];
  metrics: Record<string, number>;
  trainingSeconds: number;
}

/** Writes the model card for an already stored model.onnx and returns both refs. */
export async function storeModelAndCard(store: ArtifactStore, facts: ModelFacts): Promise<TrainResult> {
  const createdAt = new Date().toISOString();
  const card: ModelCard = {
    kind: 'model-card',
    model: { sha256: facts.modelSha256, bytes: facts.modelBytes, format: 'onnx' },
    trainer: facts.trainer,
    label: facts.label,
    features: facts.features,
    parameters: facts.parameters,
    seed: facts.seed,
    datasets: facts.datasets,
    metrics: facts.metrics,
    trainingSeconds: facts.trainingSeconds,
    createdAt,
  };
  const storedCard = await store.put(JSON.stringify(card, null, 2));
  return {
    model: {
      kind: 'model',
      uri: artifactUri(facts.modelSha256),
      sha256: facts.modelSha256,
      bytes: facts.modelBytes,
      format: 'onnx',
      features: facts.features,
      label: facts.label,
      trainer: facts.trainer.name,
      createdAt,
    },
    card: { kind: 'artifact', uri: artifactUri(storedCard.sha256), sha256: storedCard.sha256, bytes: storedCard.bytes, mediaType: MODEL_CARD_MEDIA_TYPE },
    metrics: facts.metrics,
  };
}
