/**
 * What a long step reports while it runs. Activities turn it into heartbeats (and so into the
 * workflow's current details); the CLI prints it as progress lines.
 */
export interface Progress {
  /** What is being done, e.g. "ingest", "train". */
  stage: string;
  /** Units done so far and, when known, in total. */
  done: number;
  total?: number;
  unit: string; // "rows", "trees", "iterations", "chunks"
  message?: string;
}

export type ProgressSink = (progress: Progress) => void;

export const ignoreProgress: ProgressSink = () => {};

export function formatProgress(p: Progress): string {
  const of = p.total === undefined ? '' : ` / ${p.total.toLocaleString('en-US')}`;
  const pct = p.total ? ` (${Math.floor((100 * p.done) / p.total)}%)` : '';
  return `${p.stage}: ${p.done.toLocaleString('en-US')}${of} ${p.unit}${pct}${p.message ? ` — ${p.message}` : ''}`;
}
