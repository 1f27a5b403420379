import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { ArtifactStore } from '../../lib/artifact-store.js';
import { PlumbError, messageOf } from '../../lib/errors.js';
import { DatasetRef, type Feature } from '../../lib/refs.js';
import type { StepContext } from '../define-activity.js';
import { checkFeatures, loadClassifier } from '../onnx-classifier.js';
import { storeModelAndCard, type TrainResult } from '../train.js';

/**
 * The external-trainer contract (docs/external-trainers.md): plumb runs `command` (an argv, no
 * shell) with these environment variables and waits for it to exit 0:
 *   PLUMB_TRAIN_PARQUET       training data (Parquet)
 *   PLUMB_VALIDATION_PARQUET  validation data (Parquet), only when the step has one
 *   PLUMB_PARAMS_JSON         a JSON file: { label, features: [{name, type}], params, seed }
 *   PLUMB_OUTPUT_DIR          an empty directory where it must write model.onnx and metrics.json
 * model.onnx must follow the plumb model convention with exactly the given features as inputs;
 * metrics.json is a flat object of numbers.
 */
export const ExternalTrainInput = z.object({
  command: z.array(z.string().min(1)).min(1),
  /** Name recorded in the model card and ModelRef, e.g. "sklearn-logreg". */
  trainerName: z.string().min(1).default('external'),
  trainerVersion: z.string().min(1).default('unversioned'),
  train: DatasetRef,
  validation: DatasetRef.optional(),
  label: z.string().min(1),
  /** Feature columns in model-input order; default: every train column but the label (dates excluded). */
  features: z.array(z.string().min(1)).min(1).optional(),
  params: z.record(z.string(), z.unknown()).default({}),
  seed: z.number().int().default(1),
  timeoutSeconds: z.number().positive().default(3600),
  heartbeatSeconds: z.number().positive().default(10),
});
export type ExternalTrainInput = z.input<typeof ExternalTrainInput>;

const STDERR_TAIL_LINES = 20;

function featuresOf(input: z.output<typeof ExternalTrainInput>): Feature[] {
  const columns = new Map(input.train.columns.map((c) => [c.name, c]));
  if (!columns.has(input.label)) throw new PlumbError('BadInput', `label "${input.label}" is not a column of the training dataset`);
  const names = input.features ?? input.train.columns.filter((c) => c.name !== input.label && c.type !== 'date' && c.type !== 'timestamp').map((c) => c.name);
  return names.map((name) => {
    const column = columns.get(name);
    if (!column) throw new PlumbError('BadInput', `feature "${name}" is not a column of the training dataset`);
    return { name, type: column.type === 'string' ? 'categorical' : 'numeric' };
  });
}

interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stderrTail: string[];
}

async function runCommand(command: string[], env: Record<string, string>, input: z.output<typeof ExternalTrainInput>, ctx: Pick<StepContext, 'log' | 'progress' | 'signal'>): Promise<RunOutcome> {
  const child = spawn(command[0]!, command.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stderrTail: string[] = [];
  const log = ctx.log.child({ trainer: input.trainerName, pid: child.pid });
  createInterface({ input: child.stdout! }).on('line', (line) => log.info('trainer stdout', { stream: 'stdout', line }));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    log.info('trainer stderr', { stream: 'stderr', line });
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
  });
  const started = Date.now();
  let timedOut = false;
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const heartbeat = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    ctx.progress({ stage: 'train (external)', done: seconds, total: input.timeoutSeconds, unit: 'seconds', message: `${input.trainerName} running` });
  }, input.heartbeatSeconds * 1000);
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, input.timeoutSeconds * 1000);
  ctx.signal?.addEventListener('abort', killGroup, { once: true });
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, s) => resolve([c, s]));
    });
    return { code, signal, timedOut, stderrTail };
  } catch (err) {
    throw new PlumbError('TrainerFailed', `cannot start external trainer "${command[0]}": ${messageOf(err)}`);
  } finally {
    clearInterval(heartbeat);
    clearTimeout(timer);
    ctx.signal?.removeEventListener('abort', killGroup);
  }
}

async function readMetrics(path: string): Promise<Record<string, number>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new PlumbError('TrainerFailed', `external trainer's metrics.json is missing or not JSON: ${messageOf(err)}`);
  }
  const parsed = z.record(z.string(), z.number()).safeParse(raw);
  if (!parsed.success) throw new PlumbError('TrainerFailed', 'external trainer\'s metrics.json must be a flat object of numbers, e.g. {"validationAuc": 0.91}');
  return parsed.data;
}

/**
 * The `train` step with an external trainer: runs the command under the contract above, streams
 * its stdout/stderr into the step's log, heartbeats while it runs, kills it at the timeout, then
 * checks its outputs before storing model.onnx and a model card. Failures are TrainerFailed with
 * the tail of stderr.
 */
export async function runExternalTrainer(input: z.output<typeof ExternalTrainInput>, deps: { store: ArtifactStore }, ctx: Pick<StepContext, 'log' | 'progress' | 'signal'>): Promise<TrainResult> {
  const features = featuresOf(input);
  const outputDir = await deps.store.tempPath('-external-trainer');
  await mkdir(outputDir, { recursive: true });
  try {
    const paramsPath = join(outputDir, 'params.json');
    await writeFile(paramsPath, JSON.stringify({ label: input.label, features, params: input.params, seed: input.seed }, null, 2));
    const env: Record<string, string> = {
      PLUMB_TRAIN_PARQUET: await deps.store.localPath(input.train.sha256),
      PLUMB_PARAMS_JSON: paramsPath,
      PLUMB_OUTPUT_DIR: outputDir,
    };
    if (input.validation) env.PLUMB_VALIDATION_PARQUET = await deps.store.localPath(input.validation.sha256);
    const started = performance.now();
    const outcome = await runCommand(input.command, env, input, ctx);
    const trainingSeconds = (performance.now() - started) / 1000;
    const tail = outcome.stderrTail.length ? `; stderr (last lines):\n${outcome.stderrTail.join('\n')}` : '; it wrote nothing to stderr';
    if (outcome.timedOut) throw new PlumbError('TrainerFailed', `external trainer ${input.trainerName} timed out after ${input.timeoutSeconds}s and was killed${tail}`);
    if (outcome.code !== 0) {
      const how = outcome.code === null ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
      throw new PlumbError('TrainerFailed', `external trainer ${input.trainerName} ${how}${tail}`);
    }
    const modelPath = join(outputDir, 'model.onnx');
    if (!(await stat(modelPath).catch(() => undefined))) throw new PlumbError('TrainerFailed', `external trainer ${input.trainerName} exited 0 but wrote no model.onnx in PLUMB_OUTPUT_DIR`);
    const metrics = await readMetrics(join(outputDir, 'metrics.json'));
    try {
      const classifier = await loadClassifier(modelPath);
      await classifier.session.release();
      checkFeatures(classifier.features, features);
    } catch (err) {
      throw new PlumbError('TrainerFailed', `external trainer ${input.trainerName} wrote an unusable model.onnx: ${messageOf(err)}`);
    }
    const stored = await deps.store.putFile(modelPath);
    ctx.log.info('external model trained', { trainer: input.trainerName, sha256: stored.sha256, seconds: trainingSeconds });
    return storeModelAndCard(deps.store, {
      modelSha256: stored.sha256,
      modelBytes: stored.bytes,
      trainer: { name: input.trainerName, version: input.trainerVersion },
      label: input.label,
      features,
      parameters: { ...input.params, command: input.command },
      seed: input.seed,
      datasets: { train: input.train, ...(input.validation ? { validation: input.validation } : {}) },
      metrics,
      trainingSeconds,
    });
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}
