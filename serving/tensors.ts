/**
 * The tensors that travel between the event loop and the inference threads: plain data that
 * survives structured cloning (typed arrays are transferred, strings copied).
 */
export type TensorData =
  | { type: 'float32'; data: Float32Array; dims: number[] }
  | { type: 'int64'; data: BigInt64Array; dims: number[] }
  | { type: 'string'; data: string[]; dims: number[] };

export type Feeds = Record<string, TensorData>;
export type OutputTensors = Record<string, TensorData>;

/** Concatenates same-shaped feeds along the batch dimension. */
export function concatFeeds(parts: Feeds[]): Feeds {
  const first = parts[0];
  if (!first) throw new Error('concatFeeds needs at least one part');
  if (parts.length === 1) return first;
  const out: Feeds = {};
  for (const [name, tensor] of Object.entries(first)) {
    const pieces = parts.map((p) => p[name]!);
    const rows = pieces.reduce((n, p) => n + (p.dims[0] ?? 0), 0);
    const dims = [rows, ...tensor.dims.slice(1)];
    if (tensor.type === 'string') {
      out[name] = { type: 'string', data: pieces.flatMap((p) => p.data as string[]), dims };
    } else {
      const total = pieces.reduce((n, p) => n + p.data.length, 0);
      const data = tensor.type === 'float32' ? new Float32Array(total) : new BigInt64Array(total);
      let at = 0;
      for (const p of pieces) {
        (data as Float32Array).set(p.data as Float32Array, at);
        at += p.data.length;
      }
      out[name] = { type: tensor.type, data, dims } as TensorData;
    }
  }
  return out;
}

/** Splits outputs into consecutive row ranges of the given sizes (the inverse of concatFeeds). */
export function splitOutputs(outputs: OutputTensors, rowCounts: number[]): OutputTensors[] {
  const parts: OutputTensors[] = rowCounts.map(() => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    const rowSize = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
    let row = 0;
    rowCounts.forEach((rows, i) => {
      const from = row * rowSize;
      const to = (row + rows) * rowSize;
      parts[i]![name] = { type: tensor.type, data: tensor.data.slice(from, to), dims: [rows, ...tensor.dims.slice(1)] } as TensorData;
      row += rows;
    });
  }
  return parts;
}

export function transferablesOf(tensors: Record<string, TensorData>): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const t of Object.values(tensors)) {
    if (t.type !== 'string' && t.data.buffer instanceof ArrayBuffer && !buffers.includes(t.data.buffer)) buffers.push(t.data.buffer);
  }
  return buffers;
}
