/**
 * One inference thread: holds its own onnxruntime session per loaded model version and runs the
 * batches the engine sends it, so no inference ever runs on the event-loop thread. When a merged
 * batch fails, each request in it is retried alone so that one bad request fails only itself.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { type Feeds, type OutputTensors, type TensorData, splitOutputs, transferablesOf } from './tensors.js';

export type ThreadRequest =
  | { type: 'load'; id: number; key: string; path: string; intraOpThreads: number; warmup: Feeds }
  | { type: 'unload'; id: number; key: string }
  | { type: 'run'; id: number; key: string; feeds: Feeds; rowCounts: number[]; outputs: string[] };

export type RunPart = { ok: true; outputs: OutputTensors } | { ok: false; error: string };

export type ThreadResponse =
  | { id: number; ok: true; inputNames?: string[]; outputNames?: string[]; parts?: RunPart[] }
  | { id: number; ok: false; error: string };

const sessions = new Map<string, ort.InferenceSession>();
const port = parentPort;
if (!port) throw new Error('inference-thread.ts must run as a worker thread');

port.on('message', (msg: ThreadRequest) => {
  handle(msg).then(
    (res) => port.postMessage(res, res.ok && res.parts ? res.parts.flatMap((p) => (p.ok ? transferablesOf(p.outputs) : [])) : []),
    (err: unknown) => port.postMessage({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies ThreadResponse),
  );
});

async function handle(msg: ThreadRequest): Promise<ThreadResponse> {
  switch (msg.type) {
    case 'load': {
      const session = await ort.InferenceSession.create(msg.path, {
        intraOpNumThreads: msg.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        logSeverityLevel: 4,
      });
      try {
        await session.run(toOrt(msg.warmup));
      } catch (err) {
        await session.release();
        throw new Error(`warm-up run failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      const previous = sessions.get(msg.key);
      sessions.set(msg.key, session);
      await previous?.release();
      return { id: msg.id, ok: true, inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
    }
    case 'unload': {
      const session = sessions.get(msg.key);
      sessions.delete(msg.key);
      await session?.release();
      return { id: msg.id, ok: true };
    }
    case 'run': {
      const session = sessions.get(msg.key);
      if (!session) throw new Error(`version ${msg.key} is not loaded on this thread`);
      try {
        const outputs = await runSession(session, msg.feeds, msg.outputs);
        return { id: msg.id, ok: true, parts: splitOutputs(outputs, msg.rowCounts).map((o) => ({ ok: true, outputs: o })) };
      } catch (err) {
        if (msg.rowCounts.length === 1) return { id: msg.id, ok: true, parts: [{ ok: false, error: messageOf(err) }] };
        return { id: msg.id, ok: true, parts: await runEach(session, msg.feeds, msg.rowCounts, msg.outputs) };
      }
    }
  }
}

async function runEach(session: ort.InferenceSession, feeds: Feeds, rowCounts: number[], outputs: string[]): Promise<RunPart[]> {
  const parts: RunPart[] = [];
  let row = 0;
  for (const rows of rowCounts) {
    const slice: Feeds = {};
    for (const [name, t] of Object.entries(feeds)) {
      const rowSize = t.dims.slice(1).reduce((a, b) => a * b, 1);
      slice[name] = { type: t.type, data: t.data.slice(row * rowSize, (row + rows) * rowSize), dims: [rows, ...t.dims.slice(1)] } as TensorData;
    }
    row += rows;
    try {
      parts.push({ ok: true, outputs: splitOutputs(await runSession(session, slice, outputs), [rows])[0]! });
    } catch (err) {
      parts.push({ ok: false, error: messageOf(err) });
    }
  }
  return parts;
}

async function runSession(session: ort.InferenceSession, feeds: Feeds, outputs: string[]): Promise<OutputTensors> {
  const result = await session.run(toOrt(feeds), outputs);
  const out: OutputTensors = {};
  for (const name of outputs) {
    const t = result[name];
    if (!t) throw new Error(`output ${name} missing from the model's result`);
    const dims = [...t.dims];
    if (t.type === 'float32') out[name] = { type: 'float32', data: t.data as Float32Array, dims };
    else if (t.type === 'int64') out[name] = { type: 'int64', data: t.data as BigInt64Array, dims };
    else if (t.type === 'string') out[name] = { type: 'string', data: t.data as string[], dims };
    else throw new Error(`output ${name} has type ${t.type}, which the pool does not serve`);
  }
  return out;
}

function toOrt(feeds: Feeds): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = new ort.Tensor(t.type, t.data, t.dims);
  return out;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
