import { z } from 'zod';
import { DatasetRef, Feature, Sha256 } from './refs.js';

/**
 * What a trained model is and how it was made, stored as a JSON artifact beside model.onnx and
 * shown by the registry. Metrics here are the trainer's own (training or validation loss, trees,
 * iterations, or an external trainer's metrics.json); test-set metrics come from `evaluate`.
 *
 *   const card = ModelCard.parse(JSON.parse(await store.get(cardRef.sha256)));
 */
export const ModelCard = z.object({
  kind: z.literal('model-card'),
  model: z.object({ sha256: Sha256, bytes: z.number().int().positive(), format: z.literal('onnx') }),
  trainer: z.object({ name: z.string().min(1), version: z.string().min(1) }),
  label: z.string().min(1),
  features: z.array(Feature).min(1),
  parameters: z.record(z.string(), z.unknown()),
  seed: z.number().int().nullable(),
  datasets: z.object({ train: DatasetRef, validation: DatasetRef.optional() }),
  metrics: z.record(z.string(), z.number()),
  trainingSeconds: z.number().nonnegative(),
  createdAt: z.iso.datetime(),
});
export type ModelCard = z.infer<typeof ModelCard>;

export const MODEL_CARD_MEDIA_TYPE = 'application/vnd.plumb.model-card+json';
