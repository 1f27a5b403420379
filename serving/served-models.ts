import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../lib/artifact-store.js';
import type { ArtifactStore } from '../lib/artifact-store.js';
import { PlumbError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { MODEL_OUTPUTS, type Feature, type ModelRef } from '../lib/refs.js';
import { Assignment, type ModelAssignment, type Routing, emptyAssignment } from '../lib/serving.js';
import { type BreakerOptions, CircuitBreaker } from './circuit-breaker.js';
import type { InferenceEngine } from './engine.js';
import type { ServingMetrics } from './metrics.js';
import type { Feeds } from './tensors.js';

export interface ServedVersionState {
  model: string;
  version: string;
  ref: ModelRef;
  /** Engine key: one per model file, so two names for the same bytes share sessions. */
  key: string;
  status: 'loaded' | 'failed';
  error?: string;
  outputNames: string[];
  breaker: CircuitBreaker;
}

/**
 * What this process serves: loaded versions (with their breakers) and the routing per model,
 * converging on an Assignment. Applying loads and warms every new version before the routing that
 * needs it changes, then unloads what the assignment dropped, so a swap never fails a request.
 * The applied assignment and the model files are cached in `stateDir`, so a restart serves again
 * before the artifact store or Temporal answer.
 */
export class ServedModels {
  private readonly versions = new Map<string, Map<string, ServedVersionState>>();
  private readonly routings = new Map<string, Routing>();
  private applied: Assignment = emptyAssignment();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: {
      engine: InferenceEngine;
      store: ArtifactStore;
      stateDir: string;
      breaker: BreakerOptions;
      metrics: ServingMetrics;
      log: Logger;
    },
  ) {}

  get assignment(): Assignment {
    return this.applied;
  }

  routing(model: string): Routing | undefined {
    return this.routings.get(model);
  }

  version(model: string, version: string): ServedVersionState | undefined {
    return this.versions.get(model)?.get(version);
  }

  models(): string[] {
    return [...new Set([...this.versions.keys(), ...this.routings.keys()])].sort();
  }

  versionsOf(model: string): ServedVersionState[] {
    return [...(this.versions.get(model)?.values() ?? [])];
  }

  /** Whether the router may send traffic to the version now. */
  available(model: string, version: string, now = Date.now()): boolean {
    const v = this.version(model, version);
    return v !== undefined && v.status === 'loaded' && v.breaker.allows(now);
  }

  /** Records an inference outcome; opening the breaker is logged and counted. */
  recordOutcome(model: string, version: string, ok: boolean, error?: string): void {
    const v = this.version(model, version);
    if (!v) return;
    if (v.breaker.record(ok, Date.now())) {
      this.deps.log.error('version taken out of rotation after repeated errors; traffic goes to the stable version', { model, version, error });
      this.deps.metrics.breakerTrips.inc({ model, version, reason: 'errors' });
    }
    this.deps.metrics.breakerOpen.set({ model, version }, v.breaker.allows(Date.now()) ? 0 : 1);
  }

  /** Restores the cached assignment (at start, before Temporal or the store are needed). */
  async restore(): Promise<void> {
    const text = await readFile(join(this.deps.stateDir, 'assignment.json'), 'utf8').catch(() => undefined);
    if (text === undefined) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = Assignment.safeParse(json);
    if (!parsed.success) {
      this.deps.log.warn('ignoring an unreadable cached assignment', { dir: this.deps.stateDir });
      return;
    }
    this.deps.log.info('restoring cached assignment', { generation: parsed.data.generation });
    await this.apply(parsed.data, { strict: false });
  }

  /**
   * Converges on `target`. strict: a version that fails to load fails the call and nothing
   * changes (control activities); otherwise it is marked failed, kept out of rotation, and the
   * rest is applied (restores and peers' assignments).
   */
  apply(target: Assignment, options: { strict: boolean }): Promise<void> {
    const run = this.queue.then(() => this.applyNow(target, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(target: Assignment, { strict }: { strict: boolean }): Promise<void> {
    for (const [model, wanted] of Object.entries(target.models)) {
      for (const { version, ref } of wanted.versions) {
        const current = this.version(model, version);
        if (current?.status === 'loaded' && current.ref.sha256 === ref.sha256) continue;
        try {
          await this.load(model, version, ref);
        } catch (err) {
          this.deps.metrics.loadFailures.inc({ model, version });
          this.deps.metrics.breakerTrips.inc({ model, version, reason: 'load' });
          this.deps.metrics.breakerOpen.set({ model, version }, 1);
          this.deps.log.error('model version failed to load; it stays out of rotation', { model, version, sha256: ref.sha256, err: messageOf(err) });
          if (strict) throw err instanceof PlumbError ? err : new PlumbError('BadInput', `${model} version ${version} cannot be served: ${messageOf(err)}`, { cause: err });
          this.setVersion({ model, version, ref, key: ref.sha256, status: 'failed', error: messageOf(err), outputNames: [], breaker: this.newBreaker() });
        }
      }
    }
    // Routing switches in one synchronous step, after every version it needs is warm.
    for (const model of this.models()) {
      const routing = target.models[model]?.routing;
      if (routing) this.routings.set(model, routing);
      else this.routings.delete(model);
    }
    this.applied = target;
    this.deps.metrics.generation.set(target.generation);
    await this.cache(target);
    for (const model of this.models()) await this.unloadDropped(model, target.models[model]);
  }

  private async load(model: string, version: string, ref: ModelRef): Promise<void> {
    const started = performance.now();
    const path = await this.localModelFile(ref);
    await this.deps.engine.load(ref.sha256, path, warmupFeeds(ref.features)).then(({ inputNames, outputNames }) => {
      const expected = ref.features.map((f) => f.name);
      if (inputNames.join('\u0000') !== expected.join('\u0000')) {
        throw new PlumbError('BadInput', `model inputs [${inputNames.join(', ')}] do not match its feature schema [${expected.join(', ')}]`);
      }
      const missing = Object.values(MODEL_OUTPUTS).filter((o) => !outputNames.includes(o));
      if (missing.length > 0) throw new PlumbError('BadInput', `model lacks the output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
      this.setVersion({ model, version, ref, key: ref.sha256, status: 'loaded', outputNames, breaker: this.newBreaker() });
    });
    this.deps.metrics.breakerOpen.set({ model, version }, 0);
    this.deps.log.info('model version loaded and warmed', { model, version, sha256: ref.sha256, ms: Math.round(performance.now() - started) });
  }

  /** The model file from the state cache, else copied there from the artifact store; sha256 checked. */
  private async localModelFile(ref: ModelRef): Promise<string> {
    const dir = join(this.deps.stateDir, 'models');
    const cached = join(dir, `${ref.sha256}.onnx`);
    const hash = await hashFile(cached).catch(() => undefined);
    if (hash?.sha256 === ref.sha256) return cached;
    const source = await this.deps.store.localPath(ref.sha256); // verifies the hash
    await mkdir(dir, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    await copyFile(source, tmp);
    const copied = await hashFile(tmp);
    if (copied.sha256 !== ref.sha256) throw new PlumbError('Integrity', `model ${ref.sha256} changed while being copied`);
    await rename(tmp, cached);
    return cached;
  }

  private async unloadDropped(model: string, wanted: ModelAssignment | undefined): Promise<void> {
    const keep = new Set(wanted?.versions.map((v) => v.version) ?? []);
    for (const v of this.versionsOf(model)) {
      if (keep.has(v.version)) continue;
      this.versions.get(model)?.delete(v.version);
      this.deps.metrics.breakerOpen.remove({ model, version: v.version });
      const stillUsed = [...this.versions.values()].some((m) => [...m.values()].some((o) => o.key === v.key && o.status === 'loaded'));
      if (v.status === 'loaded' && !stillUsed) await this.deps.engine.unload(v.key);
      this.deps.log.info('model version unloaded', { model, version: v.version });
    }
    if (this.versions.get(model)?.size === 0) this.versions.delete(model);
  }

  private async cache(assignment: Assignment): Promise<void> {
    await mkdir(this.deps.stateDir, { recursive: true });
    const file = join(this.deps.stateDir, 'assignment.json');
    await writeFile(`${file}.tmp`, JSON.stringify(assignment, null, 2));
    await rename(`${file}.tmp`, file);
  }

  private setVersion(state: ServedVersionState): void {
    let versions = this.versions.get(state.model);
    if (!versions) this.versions.set(state.model, (versions = new Map()));
    versions.set(state.version, state);
  }

  private newBreaker(): CircuitBreaker {
    return new CircuitBreaker(this.deps.breaker);
  }
}

/** One row of zeros and empty strings: enough to make onnxruntime allocate and run every kernel. */
export function warmupFeeds(features: Feature[]): Feeds {
  const feeds: Feeds = {};
  for (const f of features) {
    feeds[f.name] = f.type === 'numeric' ? { type: 'float32', data: new Float32Array(1), dims: [1, 1] } : { type: 'string', data: [''], dims: [1, 1] };
  }
  return feeds;
}
