import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PlumbError, badInput, httpStatusOf, messageOf, notFound } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { MODEL_OUTPUTS } from '../lib/refs.js';
import type { LoadVersionInput, Route, SetRoutingInput } from '../lib/serving.js';
import type { Right, ApiKeys } from './auth.js';
import { type ControlDeps, loadModelVersion, reportModelMetrics, setModelRouting, unloadModelVersion } from './control-activities.js';
import { type InferenceEngine, InferenceFailure } from './engine.js';
import type { ServingMetrics } from './metrics.js';
import type { PredictionLog } from './prediction-log.js';
import { chooseRoute } from './router.js';
import type { ServedModels, ServedVersionState } from './served-models.js';
import type { OutputTensors } from './tensors.js';
import { type ParsedRequest, parseV1Predict, parseV2Infer, v2Outputs } from './validation.js';
import type { VersionStats } from './version-stats.js';

export interface HttpApiDeps {
  engine: InferenceEngine;
  served: ServedModels;
  control: ControlDeps;
  keys: ApiKeys;
  metrics: ServingMetrics;
  stats: VersionStats;
  predictionLog: PredictionLog | undefined;
  bodyLimitBytes: number;
  maxRowsPerRequest: number;
  isReady: () => boolean;
  log: Logger;
}

/** The sticky-routing header: requests with the same value keep their version while weights hold. */
export const ROUTING_KEY_HEADER = 'x-routing-key';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

type Handler = (ctx: RequestContext) => Promise<unknown>;
interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  requestId: string;
  log: Logger;
  url: URL;
}

/**
 * The pool's HTTP API: Open Inference Protocol V2 REST, the `/v1/models/{name}:predict` feature-
 * object endpoint, /metrics, and the admin endpoints over the control functions. Every failure is
 * `{"error": "..."}` with the status of its PlumbError kind; unexpected errors are logged and 500.
 */
export function createHttpHandler(deps: HttpApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const routes: { method: string; path: RegExp; right: Right | undefined; handle: Handler }[] = [
    { method: 'GET', path: /^\/v2\/health\/live$/, right: undefined, handle: async () => ({ live: true }) },
    { method: 'GET', path: /^\/v2\/health\/ready$/, right: undefined, handle: async ({ res }) => readiness(deps, res) },
    { method: 'GET', path: /^\/v2$/, right: undefined, handle: async () => ({ name: 'plumb-serving', version: '0.1.0', extensions: [] }) },
    { method: 'GET', path: /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?$/, right: 'predict', handle: async ({ params }) => metadata(deps, params) },
    { method: 'GET', path: /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/ready$/, right: 'predict', handle: async ({ params }) => modelReady(deps, params) },
    { method: 'POST', path: /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/, right: 'predict', handle: (ctx) => infer(deps, ctx, 'v2') },
    { method: 'POST', path: /^\/v1\/models\/([^/]+):predict$/, right: 'predict', handle: (ctx) => infer(deps, ctx, 'v1') },
    { method: 'GET', path: /^\/metrics$/, right: 'admin', handle: async ({ res }) => metricsText(deps, res) },
    { method: 'GET', path: /^\/admin\/assignment$/, right: 'admin', handle: async () => adminState(deps) },
    {
      method: 'POST', path: /^\/admin\/models\/([^/]+)\/versions$/, right: 'admin',
      handle: async (ctx) => loadModelVersion(deps.control, { ...(asObject(await readJson(ctx.req, deps.bodyLimitBytes))), model: param(ctx.params, 0) } as LoadVersionInput),
    },
    {
      method: 'PUT', path: /^\/admin\/models\/([^/]+)\/routing$/, right: 'admin',
      handle: async (ctx) => setModelRouting(deps.control, { ...(asObject(await readJson(ctx.req, deps.bodyLimitBytes))), model: param(ctx.params, 0) } as SetRoutingInput),
    },
    {
      method: 'DELETE', path: /^\/admin\/models\/([^/]+)\/versions\/([^/]+)$/, right: 'admin',
      handle: async ({ params }) => unloadModelVersion(deps.control, { model: param(params, 0), version: param(params, 1) }),
    },
    {
      method: 'GET', path: /^\/admin\/models\/([^/]+)\/metrics$/, right: 'admin',
      handle: async ({ params, url }) =>
        reportModelMetrics(deps.control, { model: param(params, 0), from: url.searchParams.get('from') ?? '', to: url.searchParams.get('to') ?? new Date().toISOString() }),
    },
  ];

  return (req, res) => {
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    const log = deps.log.child({ requestId });
    res.setHeader('x-request-id', requestId);
    deps.metrics.inFlight.inc();
    const started = performance.now();
    res.on('close', () => {
      deps.metrics.inFlight.dec();
      deps.metrics.httpResponses.inc({ status: String(res.statusCode) });
      log.debug('request', { method: req.method, path: req.url, status: res.statusCode, ms: Math.round((performance.now() - started) * 100) / 100 });
    });
    const handleRequest = async () => {
      const url = new URL(req.url ?? '/', 'http://pool');
      const matching = routes.filter((r) => r.path.test(url.pathname));
      if (matching.length === 0) throw notFound(`no such endpoint: ${url.pathname}`);
      const route = matching.find((r) => r.method === req.method);
      if (!route) {
        res.setHeader('allow', matching.map((r) => r.method).join(', '));
        throw new PlumbError('BadInput', `method ${req.method} is not allowed on ${url.pathname}`, { details: { status: 405 } });
      }
      if (route.right) deps.keys.check(presentedKey(req), route.right);
      const params = (route.path.exec(url.pathname) ?? []).slice(1).map((p) => (p === undefined ? '' : decodePart(p)));
      const body = await route.handle({ req, res, params, requestId, log, url });
      if (!res.headersSent && body !== undefined) sendJson(res, 200, body);
    };
    handleRequest().catch((err: unknown) => {
      req.resume(); // discard an unread body so the connection can be reused
      const status = err instanceof PlumbError && err.details?.status === 405 ? 405 : httpStatusOf(err);
      if (status >= 500 && !(err instanceof PlumbError)) log.error('request failed', { method: req.method, url: req.url, err });
      if (err instanceof PlumbError && err.kind === 'Overloaded') res.setHeader('retry-after', '1');
      if (err instanceof PlumbError && err.kind === 'PayloadTooLarge') res.setHeader('connection', 'close');
      if (res.headersSent) res.destroy();
      else sendJson(res, status, { error: status === 500 && !(err instanceof PlumbError) ? `internal error (request ${requestId})` : messageOf(err) });
    });
  };
}

async function infer(deps: HttpApiDeps, ctx: RequestContext, kind: 'v1' | 'v2'): Promise<unknown> {
  const model = param(ctx.params, 0);
  const pinned = ctx.params[1] || undefined;
  const body = await readJson(ctx.req, deps.bodyLimitBytes);
  const { served } = deps;
  const routingKey = ctx.req.headers[ROUTING_KEY_HEADER];
  let target: { version: ServedVersionState; route: Route };
  let shadow: ServedVersionState | undefined;
  if (pinned) {
    const v = served.version(model, pinned);
    if (!v) throw notFound(`${model} version ${pinned} is not served here`);
    if (v.status !== 'loaded') throw new PlumbError('Unavailable', `${model} version ${pinned} failed to load: ${v.error}`);
    target = { version: v, route: 'direct' };
  } else {
    const routing = served.routing(model);
    if (!routing) throw notFound(served.versionsOf(model).length > 0 ? `model ${model} has no routed version; name one with /versions/{v}` : `model ${model} is not served here`);
    const decision = chooseRoute(routing, { routingKey: typeof routingKey === 'string' ? routingKey : undefined, random: Math.random }, (v) => served.available(model, v));
    if (!decision) throw new PlumbError('Unavailable', `no version of ${model} is available (stable ${routing.stable} is out of rotation)`);
    target = { version: served.version(model, decision.version)!, route: decision.route };
    if (decision.shadow) shadow = served.version(model, decision.shadow);
  }
  const parse = (v: ServedVersionState) =>
    (kind === 'v2' ? parseV2Infer : parseV1Predict)(body, v.ref.features, v.outputNames, deps.maxRowsPerRequest);
  const parsed = parse(target.version);
  const requestId = parsed.id ?? ctx.requestId;
  if (shadow) void score(deps, shadow, 'shadow', sameSchema(shadow, target.version) ? parsed : safeParse(() => parse(shadow!)), requestId);

  let answered = await score(deps, target.version, target.route, parsed, requestId);
  if (!answered.ok && target.route === 'candidate') {
    // The candidate's failure is recorded against it; the caller still gets the stable answer.
    const stable = served.version(model, served.routing(model)!.stable);
    if (stable && served.available(model, stable.version)) {
      ctx.log.warn('candidate failed; answering from the stable version', { model, version: target.version.version, err: answered.error });
      const reparsed = sameSchema(stable, target.version) ? parsed : parse(stable);
      target = { version: stable, route: 'stable' };
      answered = await score(deps, stable, 'stable', reparsed, requestId);
    }
  }
  if (!answered.ok) throw answered.error;
  const outputs = answered.outputs;
  const { version } = target.version;
  if (kind === 'v1') {
    const labels = outputs[MODEL_OUTPUTS.label]!.data as BigInt64Array;
    const probs = outputs[MODEL_OUTPUTS.probabilities]!.data as Float32Array;
    return {
      model,
      version,
      id: requestId,
      predictions: Array.from(labels, (label, i) => ({ label: Number(label), probabilities: [probs[2 * i]!, probs[2 * i + 1]!] })),
    };
  }
  const selected = Object.fromEntries(parsed.outputs.map((name) => [name, outputs[name]!]));
  return { model_name: model, model_version: version, id: requestId, outputs: v2Outputs(selected) };
}

type Scored = { ok: true; outputs: OutputTensors } | { ok: false; error: Error };

/** Runs one version on a parsed request and records the outcome everywhere it is counted. */
async function score(deps: HttpApiDeps, v: ServedVersionState, route: Route, parsed: ParsedRequest | Error, requestId: string): Promise<Scored> {
  const labels = { model: v.model, version: v.version, route };
  if (parsed instanceof Error) {
    deps.metrics.requests.inc({ ...labels, outcome: 'invalid' });
    return { ok: false, error: parsed };
  }
  const started = performance.now();
  try {
    const outputs = await deps.engine.infer(v.key, parsed.feeds, parsed.rows, Object.values(MODEL_OUTPUTS));
    const latencyMs = performance.now() - started;
    const probs = outputs[MODEL_OUTPUTS.probabilities]!.data as Float32Array;
    const p1 = Array.from({ length: parsed.rows }, (_, i) => probs[2 * i + 1]!);
    deps.served.recordOutcome(v.model, v.version, true);
    deps.stats.record(v.model, v.version, route, { ok: true, latencyMs, probabilities: p1 });
    deps.metrics.requests.inc({ ...labels, outcome: 'ok' });
    deps.metrics.latency.observe(labels, latencyMs / 1000);
    deps.predictionLog?.append({
      time: new Date().toISOString(),
      requestId,
      model: v.model,
      version: v.version,
      route,
      rows: parsed.rows,
      features: parsed.feeds,
      labels: outputs[MODEL_OUTPUTS.label]!.data as BigInt64Array,
      probabilities: p1,
    });
    return { ok: true, outputs };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    if (err instanceof PlumbError) {
      deps.metrics.requests.inc({ ...labels, outcome: err.kind === 'Overloaded' ? 'overloaded' : 'unavailable' });
      return { ok: false, error };
    }
    deps.served.recordOutcome(v.model, v.version, false, error.message);
    deps.stats.record(v.model, v.version, route, { ok: false, latencyMs: performance.now() - started });
    deps.metrics.requests.inc({ ...labels, outcome: 'error' });
    deps.log.warn('inference failed', { requestId, model: v.model, version: v.version, route, err: error.message });
    return { ok: false, error: err instanceof InferenceFailure ? new PlumbError('Unavailable', `${v.model} version ${v.version} failed: ${error.message}`) : error };
  }
}

function readiness(deps: HttpApiDeps, res: ServerResponse): unknown {
  if (deps.isReady()) return { ready: true };
  sendJson(res, 503, { error: 'the pool is still restoring its models' });
  return undefined;
}

function metadata(deps: HttpApiDeps, params: string[]): unknown {
  const model = param(params, 0);
  const versions = deps.served.versionsOf(model);
  if (versions.length === 0) throw notFound(`model ${model} is not served here`);
  const v = pickVersion(deps, model, params[1] || undefined);
  return {
    name: model,
    versions: versions.map((s) => s.version),
    platform: 'onnxruntime_onnx',
    version: v.version,
    inputs: v.ref.features.map((f) => ({ name: f.name, datatype: f.type === 'numeric' ? 'FP32' : 'BYTES', shape: [-1, 1] })),
    outputs: [
      { name: MODEL_OUTPUTS.label, datatype: 'INT64', shape: [-1] },
      { name: MODEL_OUTPUTS.probabilities, datatype: 'FP32', shape: [-1, 2] },
    ],
  };
}

function modelReady(deps: HttpApiDeps, params: string[]): unknown {
  const model = param(params, 0);
  const v = pickVersion(deps, model, params[1] || undefined);
  if (!deps.served.available(model, v.version)) throw new PlumbError('Unavailable', `${model} version ${v.version} is out of rotation${v.error ? `: ${v.error}` : ''}`);
  return { name: model, version: v.version, ready: true };
}

function pickVersion(deps: HttpApiDeps, model: string, version: string | undefined): ServedVersionState {
  const wanted = version ?? deps.served.routing(model)?.stable;
  if (wanted === undefined) throw notFound(`model ${model} has no stable version`);
  const v = deps.served.version(model, wanted);
  if (!v) throw notFound(`${model} version ${wanted} is not served here`);
  return v;
}

async function metricsText(deps: HttpApiDeps, res: ServerResponse): Promise<undefined> {
  const text = await deps.metrics.registry.metrics();
  res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
  res.end(text);
  return undefined;
}

function adminState(deps: HttpApiDeps): unknown {
  return {
    assignment: deps.served.assignment,
    versions: deps.served.models().flatMap((m) =>
      deps.served.versionsOf(m).map((v) => ({ model: m, version: v.version, sha256: v.ref.sha256, status: v.status, inRotation: deps.served.available(m, v.version), ...(v.error ? { error: v.error } : {}) })),
    ),
  };
}

/** Reads a JSON body: 415 unless application/json, 413 past the limit, 400 when malformed. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    req.resume();
    throw new PlumbError('UnsupportedMediaType', `content-type must be application/json${type ? `, got ${type}` : ''}`);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new PlumbError('PayloadTooLarge', `body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > limit) throw new PlumbError('PayloadTooLarge', `body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw badInput('body: empty; expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badInput(`body: not valid JSON (${messageOf(err)})`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function presentedKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  const key = req.headers['x-api-key'];
  return typeof key === 'string' ? key : undefined;
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw badInput(`path segment "${part}" is not valid percent-encoding`);
  }
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badInput('body: expected a JSON object');
  return value as Record<string, unknown>;
}

const param = (params: string[], i: number): string => params[i] ?? '';
const sameSchema = (a: ServedVersionState, b: ServedVersionState) => JSON.stringify(a.ref.features) === JSON.stringify(b.ref.features);

function safeParse(parse: () => ParsedRequest): ParsedRequest | Error {
  try {
    return parse();
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
