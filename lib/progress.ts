import { z } from 'zod';

/**
 * What a long step reports while it runs. Activities turn it into heartbeats (and so into the
 * workflow's current details); the CLI prints it as progress lines.
 * `stage` says what is being done ("ingest", "train"); `done`/`total` count `unit`s (rows, trees, chunks).
 */
export const Progress = z.object({
  stage: z.string(),
  done: z.number(),
  total: z.number().optional(),
  unit: z.string(),
  message: z.string().optional(),
});
export type Progress = z.infer<typeof Progress>;

export type ProgressSink = (progress: Progress) => void;

export const ignoreProgress: ProgressSink = () => {};

export function formatProgress(p: Progress): string {
  const of = p.total === undefined ? '' : ` / ${p.total.toLocaleString('en-US')}`;
  const pct = p.total ? ` (${Math.floor((100 * p.done) / p.total)}%)` : '';
  return `${p.stage}: ${p.done.toLocaleString('en-US')}${of} ${p.unit}${pct}${p.message ? ` — ${p.message}` : ''}`;
}
