import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import type { StackConfig } from '../lib/config.js';
import { badInput, notFound } from '../lib/errors.js';
import { formatIssues } from '../lib/zod-issues.js';
import type { Pipeline } from '../workflows/pipeline.js';
import { findPipelineFiles } from '../workers/workflow-entry.js';

export type AnyPipeline = Pipeline<z.ZodType, unknown>;

/** Loads `pipelines/<name>.ts` (from the configured folders) to read its definition and params. */
export async function loadPipeline(config: StackConfig, name: string): Promise<AnyPipeline> {
  const files = await findPipelineFiles(config.pipelines.dirs);
  const file = files.find((f) => f.name === name);
  if (!file) {
    throw notFound(`no pipeline "${name}"; available: ${files.map((f) => f.name).join(', ') || '(none)'} in ${config.pipelines.dirs.join(', ')}`);
  }
  const mod = (await import(pathToFileURL(file.path).href)) as { default?: AnyPipeline };
  const pipeline = mod.default;
  if (!pipeline || typeof pipeline.workflow !== 'function') {
    throw badInput(`${file.path} must \`export default definePipeline({...})\``);
  }
  if (pipeline.name !== name) throw badInput(`${file.path} defines pipeline "${pipeline.name}"; its name must match the file name "${name}"`);
  return pipeline;
}

/**
 * `--param k=v` pairs to the pipeline's params: each value is read as JSON when it parses
 * (numbers, booleans, arrays) and as a string otherwise, then checked against the params schema.
 */
export function parseParams(pipeline: AnyPipeline, pairs: string[]): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw badInput(`--param ${pair}: expected key=value`);
    const key = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    raw[key] = parseValue(text);
  }
  const parsed = pipeline.params.safeParse(raw);
  if (!parsed.success) throw badInput(`pipeline ${pipeline.name}: --param ${formatIssues(parsed.error)}`);
  return raw;
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
