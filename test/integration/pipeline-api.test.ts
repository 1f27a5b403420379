import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { z } from 'zod';
import { defineActivity } from '../../activities/define-activity.js';
import { createLogger } from '../../lib/logger.js';
import { type PipelineStatus, SEARCH_ATTRIBUTES, STATUS_QUERY } from '../../lib/pipeline-contracts.js';
import type { Client } from '@temporalio/client';
import { type InProcessWorker, type Suite, createSuite, startInProcessWorker } from './harness.js';

const log = createLogger({ level: 'warn' });
// Each run's `count` activity waits until its test opens the gate named by the workflow id.
const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
const gate = (id: string) => {
  let entry = gates.get(id);
  if (!entry) {
    let open = () => {};
    const opened = new Promise<void>((resolve) => (open = resolve));
    entry = { open, opened };
    gates.set(id, entry);
  }
  return entry;
};

const activities = {
  count: defineActivity('count', z.object({ from: z.number() }), log, async (input, ctx) => {
    for (let i = 1; i <= input.from; i++) ctx.progress({ stage: 'count', done: i, total: input.from, unit: 'numbers' });
    await gate(Context.current().info.workflowExecution?.workflowId ?? '').opened;
    return { counted: input.from };
  }),
  describe: defineActivity('describe', z.object({ counted: z.number(), label: z.string() }), log, async (input) => `${input.label}: ${input.counted}`),
};

describe('pipeline API', () => {
  let suite: Suite;
  let client: Client;
  let stack: InProcessWorker;

  before(async () => {
    suite = await createSuite('pipeline-api');
    stack = await startInProcessWorker(suite, activities);
    client = stack.client;
  });
  after(async () => {
    for (const g of gates.values()) g.open();
    await stack?.stop();
  });

  const start = (args: unknown, id = `countdown-${Math.random().toString(36).slice(2, 8)}`) =>
    client.workflow.start('countdown', { taskQueue: suite.config.taskQueues.control, workflowId: id, args: [args] });

  test('runs a pipeline with default params and records every step', async () => {
    const handle = await start({ params: {} });
    await waitFor(async () => (await handle.query<PipelineStatus>(STATUS_QUERY)).stage === 'count');
    gate(handle.workflowId).open();
    const result = await handle.result();
    assert.deepEqual(result.result, { counted: 3, text: 'done: 3' });
    assert.deepEqual(
      result.steps.map((s: { step: string; status: string; summary?: string }) => [s.step, s.status, s.summary]),
      [
        ['count', 'completed', '3 counted'],
        ['describe', 'completed', undefined],
      ],
    );
  });

  test('shows the running stage in a query, a search attribute and the current details', async () => {
    const handle = await start({ params: { from: 2 } });
    await waitFor(async () => (await handle.query<PipelineStatus>(STATUS_QUERY)).stage === 'count');
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage), 'count');
    gate(handle.workflowId).open();
    await handle.result();
    const done = await handle.describe();
    assert.equal(done.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage), 'done');
  });

  test('carries step progress into the run status', async () => {
    const handle = await start({ params: { from: 5 } });
    await waitFor(async () => (await handle.query<PipelineStatus>(STATUS_QUERY)).progress?.done === 5);
    const status = await handle.query<PipelineStatus>(STATUS_QUERY);
    assert.deepEqual(status.progress, { stage: 'count', done: 5, total: 5, unit: 'numbers' });
    gate(handle.workflowId).open();
    await handle.result();
  });

  test('fails at once, naming the param, when params do not fit the schema', async () => {
    const handle = await start({ params: { from: 'many' } });
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(String(err.cause?.message), /pipeline countdown: params: from: .*expected number/);
      return true;
    });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
