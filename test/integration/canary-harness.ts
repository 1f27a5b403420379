// Shared by the canary integration tests and the canary history recording: two registered versions
// with v1 served, a load generator sending predictions over HTTP, and helpers to start and watch a
// rollout.
import type { Client } from '@temporalio/client';
import type { LocalArtifactStore } from '../../lib/artifact-store.js';
import type { StackConfig } from '../../lib/config.js';
import { CANARY_HANDLERS, type CanaryInput, type CanaryPolicyInput, type CanaryResult, type CanaryState, canaryWorkflowId } from '../../lib/canary-contracts.js';
import { queryRegistry, registerWithStart, updateRegistry } from '../../lib/registry-client.js';
import type { ModelVersion } from '../../lib/registry-contracts.js';
import type { ModelRef } from '../../lib/refs.js';
import type { DeployInput, DeployResult } from '../../workflows/deploy.js';
import { CHURN_FEATURES, POISON_CATEGORY, logisticModel, modelRefOf } from '../fixtures/onnx-models.js';
import { row } from './serving-harness.js';

export type CanaryHarness = ReturnType<typeof canaryHarness>;

export function canaryHarness({ client, config, store, url }: { client: Client; config: StackConfig; store: LocalArtifactStore; url: string }) {
  /** v1 registered, approved, promoted and served; v2 registered and approved. */
  async function twoVersions(model: string, candidate: Uint8Array): Promise<{ v2: ModelRef }> {
    const refs: ModelRef[] = [];
    for (const [i, bytes] of [logisticModel(), candidate].entries()) {
      await store.put(bytes);
      const ref = modelRefOf(bytes, CHURN_FEATURES);
      refs.push(ref);
      await registerWithStart(client, config.taskQueues.control, model, { model: ref, lineage: { workflowId: 'canary-test', runId: `run-${i}`, datasets: [] }, by: 'test' });
      await updateRegistry(client, model, 'approve', { version: i + 1, by: 'ana' });
    }
    await updateRegistry(client, model, 'promote', { version: 1, by: 'ana' });
    await client.workflow.execute<(i: DeployInput) => Promise<DeployResult>>('deployModel', {
      taskQueue: config.taskQueues.control,
      workflowId: `deploy/${model}/v1/test`,
      args: [{ model, version: 1, ref: refs[0]!, servingTaskQueue: config.taskQueues.serving }],
    });
    return { v2: refs[1]! };
  }

  /** Sends predictions one after another until stopped; every fifth row is a poison row when asked. */
  function traffic(model: string, o: { poison?: boolean } = {}) {
    let stop = false;
    const versions = new Map<string, number>();
    let failed = 0;
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        // Random rows: every window sees the same distribution of inputs.
        const r = row(Math.floor(Math.random() * 7200));
        const instance = o.poison && i % 5 === 0 ? { ...r, contract: POISON_CATEGORY } : r;
        const res = await fetch(`${url}/v1/models/${model}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [instance] }) });
        const body = (await res.json()) as { version?: string };
        if (res.ok && body.version) versions.set(body.version, (versions.get(body.version) ?? 0) + 1);
        else failed += 1;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    return {
      failed: () => failed,
      /** Counts answers per version from now on. */
      reset: () => versions.clear(),
      versions: () => Object.fromEntries(versions),
      stop: async () => {
        stop = true;
        await loop;
      },
    };
  }

  const start = (model: string, v2: ModelRef, policy: CanaryPolicyInput) =>
    client.workflow.start<(i: CanaryInput) => Promise<CanaryResult>>('canaryRollout', {
      taskQueue: config.taskQueues.control,
      workflowId: canaryWorkflowId(model, 2),
      args: [{ model, candidate: { version: 2, ref: v2 }, stable: 1, policy, servingTaskQueue: config.taskQueues.serving }],
    });

  const status = async (model: string, version: number) => (await queryRegistry<ModelVersion>(client, model, 'get', version)).status;

  async function waitForState(model: string, ok: (s: CanaryState) => boolean): Promise<CanaryState> {
    const handle = client.workflow.getHandle(canaryWorkflowId(model, 2));
    for (;;) {
      const s = await handle.query<CanaryState>(CANARY_HANDLERS.state);
      if (ok(s)) return s;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The version answering all of a short burst of requests after the rollout ended. */
  async function servedAfter(load: ReturnType<typeof traffic>): Promise<Record<string, number>> {
    await new Promise((r) => setTimeout(r, 500)); // the pool polls the assignment every 200 ms
    load.reset();
    await new Promise((r) => setTimeout(r, 1000));
    return load.versions();
  }

  return { twoVersions, traffic, start, status, waitForState, servedAfter };
}
