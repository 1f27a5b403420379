import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { StackConfig } from '../lib/config.js';
import { PlumbError, badInput } from '../lib/errors.js';
import { ModelName } from '../lib/serving.js';

export interface PredictResult {
  model: string;
  version: string;
  id: string;
  predictions: { label: number; probabilities: [number, number] }[];
}

/**
 * `plumb predict <model> --json '<instances>'`: one call to the serving pool at the configured
 * host and port (or --url), with the API key from --api-key or PLUMB_API_KEY.
 */
export function registerServingCommands(program: Command, loadConfig: () => Promise<StackConfig>): void {
  program
    .command('predict')
    .description('score feature objects on the serving pool')
    .argument('<model>', 'model name')
    .option('--json <instances>', 'feature objects as JSON: one object, an array, or {"instances": [...]}; prints the JSON answer')
    .option('--file <path>', 'read the feature objects from a JSON file instead; prints a summary')
    .option('--routing-key <key>', 'sticky routing key (keeps a caller on one version during a canary)')
    .option('--url <url>', 'pool URL (default: serving.host and serving.port of the stack file)')
    .option('--api-key <key>', 'API key with the predict right (default: $PLUMB_API_KEY)')
    .action(async (model: string, opts: { json?: string; file?: string; routingKey?: string; url?: string; apiKey?: string }) => {
      if (!ModelName.safeParse(model).success) throw badInput(`model "${model}": expected letters, digits, "_", "." or "-"`);
      if ((opts.json === undefined) === (opts.file === undefined)) throw badInput('give the feature objects with exactly one of --json or --file');
      const text: string =
        opts.json ??
        (await readFile(opts.file!, 'utf8').catch(() => {
          throw badInput(`--file: cannot read ${opts.file}`);
        }));
      const instances = parseInstances(text, opts.json !== undefined ? '--json' : '--file');
      const config = await loadConfig();
      const url = opts.url ?? `http://${config.serving.host}:${config.serving.port}`;
      const result = await predict(url, model, instances, { routingKey: opts.routingKey, apiKey: opts.apiKey ?? process.env.PLUMB_API_KEY });
      if (opts.json !== undefined) {
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      process.stdout.write(`${result.model} version ${result.version} (request ${result.id})\n`);
      result.predictions.forEach((p, i) => process.stdout.write(`  row ${i}: label ${p.label}  P(1) = ${p.probabilities[1].toFixed(4)}\n`));
    });
}

/** Calls `POST /v1/models/{model}:predict`; HTTP errors become PlumbErrors carrying the pool's message. */
export async function predict(
  url: string,
  model: string,
  instances: Record<string, unknown>[],
  options: { routingKey?: string | undefined; apiKey?: string | undefined } = {},
): Promise<PredictResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.routingKey) headers['x-routing-key'] = options.routingKey;
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const res = await fetch(`${url.replace(/\/$/, '')}/v1/models/${encodeURIComponent(model)}:predict`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ instances }),
  }).catch((err: Error) => {
    throw new PlumbError('Unavailable', `serving pool at ${url} is unreachable (${err.cause instanceof Error ? err.cause.message : err.message}); start it with "plumb dev"`);
  });
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) {
    const kind = res.status === 401 ? 'Unauthenticated' : res.status === 403 ? 'Forbidden' : res.status === 404 ? 'NotFound' : res.status >= 500 ? 'Unavailable' : 'BadInput';
    throw new PlumbError(kind, `serving pool answered ${res.status}: ${body.error ?? 'no message'}`);
  }
  return body as PredictResult;
}

function parseInstances(text: string, from: string): Record<string, unknown>[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badInput(`${from}: not valid JSON (${(err as Error).message})`);
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && 'instances' in value) value = (value as { instances: unknown }).instances;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((v) => v && typeof v === 'object' && !Array.isArray(v))) {
    throw badInput(`${from}: expected a feature object, an array of them, or {"instances": [...]}`);
  }
  return list as Record<string, unknown>[];
}
