import { badInput } from '../lib/errors.js';
import type { Feature } from '../lib/refs.js';
import type { Feeds, OutputTensors } from './tensors.js';

/**
 * Request bodies checked against the model's feature schema and turned into feeds of the plumb
 * convention (numeric → float32 [N,1], categorical → string [N,1]). Every refusal is a BadInput
 * naming the field, so a malformed request is a 400, never a 500.
 */
export interface ParsedRequest {
  id: string | undefined;
  rows: number;
  feeds: Feeds;
  outputs: string[];
}

const NUMERIC_TYPES = new Set(['FP32', 'FP64', 'FP16', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);
const FLOAT32_MAX = 3.4028234663852886e38;

export function parseV2Infer(body: unknown, features: Feature[], outputNames: string[], maxRows: number): ParsedRequest {
  const req = objectAt(body, 'body');
  for (const key of Object.keys(req)) {
    if (!['id', 'inputs', 'outputs', 'parameters'].includes(key)) throw badInput(`body.${key}: unknown field (expected id, inputs, outputs, parameters)`);
  }
  if (req.id !== undefined && typeof req.id !== 'string') throw badInput('id: expected a string');
  if (req.parameters !== undefined) objectAt(req.parameters, 'parameters');
  if (!Array.isArray(req.inputs) || req.inputs.length === 0) throw badInput('inputs: expected a non-empty array of tensors');
  const byName = new Map<string, Record<string, unknown>>();
  req.inputs.forEach((raw, i) => {
    const input = objectAt(raw, `inputs[${i}]`);
    if (typeof input.name !== 'string') throw badInput(`inputs[${i}].name: expected a string`);
    if (byName.has(input.name)) throw badInput(`inputs[${i}].name: input "${input.name}" given twice`);
    if (!features.some((f) => f.name === input.name)) {
      throw badInput(`inputs[${i}].name: unknown input "${input.name}" (the model expects ${features.map((f) => f.name).join(', ')})`);
    }
    byName.set(input.name, input);
  });
  const missing = features.filter((f) => !byName.has(f.name)).map((f) => f.name);
  if (missing.length > 0) throw badInput(`inputs: missing input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`);

  let rows: number | undefined;
  const feeds: Feeds = {};
  for (const feature of features) {
    const input = byName.get(feature.name)!;
    const at = `inputs "${feature.name}"`;
    const shape = input.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw badInput(`${at}.shape: expected an array of non-negative integers`);
    }
    const dims = shape as number[];
    if (!(dims.length === 1 || (dims.length === 2 && dims[1] === 1))) throw badInput(`${at}.shape: expected [N, 1] or [N], got [${dims.join(', ')}]`);
    const n = dims[0]!;
    if (n === 0) throw badInput(`${at}.shape: the batch dimension must be at least 1`);
    if (n > maxRows) throw badInput(`${at}.shape: ${n} rows exceed the limit of ${maxRows} per request`);
    if (rows !== undefined && n !== rows) throw badInput(`${at}.shape: ${n} rows, but other inputs have ${rows}`);
    rows = n;
    const datatype = input.datatype;
    if (typeof datatype !== 'string') throw badInput(`${at}.datatype: expected a string such as "FP32" or "BYTES"`);
    if (feature.type === 'numeric' && !NUMERIC_TYPES.has(datatype)) throw badInput(`${at}.datatype: numeric feature needs FP32 (or another numeric type), got ${datatype}`);
    if (feature.type === 'categorical' && datatype !== 'BYTES') throw badInput(`${at}.datatype: categorical feature needs BYTES, got ${datatype}`);
    if (!Array.isArray(input.data)) throw badInput(`${at}.data: expected an array`);
    const data = (input.data as unknown[]).some(Array.isArray) ? (input.data as unknown[]).flat(1) : (input.data as unknown[]);
    if (data.length !== n) throw badInput(`${at}.data: shape [${dims.join(', ')}] needs ${n} elements, got ${data.length}`);
    if (feature.type === 'numeric') {
      const values = new Float32Array(n);
      data.forEach((v, i) => (values[i] = numberAt(v, `${at}.data[${i}]`)));
      feeds[feature.name] = { type: 'float32', data: values, dims: [n, 1] };
    } else {
      feeds[feature.name] = { type: 'string', data: data.map((v, i) => stringAt(v, `${at}.data[${i}]`)), dims: [n, 1] };
    }
  }
  return { id: req.id, rows: rows!, feeds, outputs: parseOutputs(req.outputs, outputNames) };
}

export function parseV1Predict(body: unknown, features: Feature[], outputNames: string[], maxRows: number): ParsedRequest {
  const req = objectAt(body, 'body');
  for (const key of Object.keys(req)) {
    if (key !== 'instances' && key !== 'id') throw badInput(`body.${key}: unknown field (expected instances)`);
  }
  if (req.id !== undefined && typeof req.id !== 'string') throw badInput('id: expected a string');
  const instances = req.instances;
  if (!Array.isArray(instances) || instances.length === 0) throw badInput('instances: expected a non-empty array of feature objects');
  if (instances.length > maxRows) throw badInput(`instances: ${instances.length} rows exceed the limit of ${maxRows} per request`);
  const n = instances.length;
  const feeds: Feeds = {};
  const columns = features.map((f) => (f.type === 'numeric' ? new Float32Array(n) : new Array<string>(n)));
  const known = new Set(features.map((f) => f.name));
  instances.forEach((raw, r) => {
    const row = objectAt(raw, `instances[${r}]`);
    for (const key of Object.keys(row)) {
      if (!known.has(key)) throw badInput(`instances[${r}].${key}: unknown feature (the model expects ${features.map((f) => f.name).join(', ')})`);
    }
    features.forEach((f, c) => {
      const at = `instances[${r}].${f.name}`;
      if (!(f.name in row)) throw badInput(`${at}: missing`);
      const column = columns[c]!;
      if (column instanceof Float32Array) column[r] = numberAt(row[f.name], at);
      else column[r] = stringAt(row[f.name], at);
    });
  });
  features.forEach((f, c) => {
    const column = columns[c]!;
    feeds[f.name] = column instanceof Float32Array ? { type: 'float32', data: column, dims: [n, 1] } : { type: 'string', data: column, dims: [n, 1] };
  });
  return { id: req.id, rows: n, feeds, outputs: outputNames };
}

/** V2 response tensors: int64 as JSON numbers, shapes as served. */
export function v2Outputs(outputs: OutputTensors): { name: string; datatype: string; shape: number[]; data: (number | string)[] }[] {
  return Object.entries(outputs).map(([name, t]) => ({
    name,
    datatype: t.type === 'float32' ? 'FP32' : t.type === 'int64' ? 'INT64' : 'BYTES',
    shape: t.dims,
    data: t.type === 'int64' ? Array.from(t.data, Number) : t.type === 'float32' ? Array.from(t.data) : t.data,
  }));
}

function parseOutputs(raw: unknown, outputNames: string[]): string[] {
  if (raw === undefined) return outputNames;
  if (!Array.isArray(raw) || raw.length === 0) throw badInput('outputs: expected a non-empty array of {"name": ...}');
  const names = raw.map((o, i) => {
    const out = objectAt(o, `outputs[${i}]`);
    if (typeof out.name !== 'string' || !outputNames.includes(out.name)) {
      throw badInput(`outputs[${i}].name: unknown output ${JSON.stringify(out.name)} (the model has ${outputNames.join(', ')})`);
    }
    return out.name;
  });
  return [...new Set(names)];
}

function objectAt(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badInput(`${at}: expected an object, got ${kindOf(value)}`);
  return value as Record<string, unknown>;
}

function numberAt(value: unknown, at: string): number {
  if (typeof value !== 'number') throw badInput(`${at}: expected a number, got ${kindOf(value)}`);
  if (!Number.isFinite(value)) throw badInput(`${at}: NaN and Infinity are not allowed`);
  if (Math.abs(value) > FLOAT32_MAX) throw badInput(`${at}: ${value} is outside the float32 range`);
  return value;
}

function stringAt(value: unknown, at: string): string {
  if (typeof value !== 'string') throw badInput(`${at}: expected a string (categorical feature), got ${kindOf(value)}`);
  return value;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}
