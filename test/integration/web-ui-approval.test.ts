// Approval as an approver does it: in the real Temporal Web UI, in headless Chromium (Debian's
// `chromium` package driven by playwright-core; no browser download). When Chromium cannot
// start, this test fails: the UI path is part of the product, not optional.
// Set PLUMB_UI_SHOTS=<folder> to keep screenshots of each stage.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { type Browser, type Page, chromium } from 'playwright-core';
import { createRegistryActivities } from '../../activities/registry-activities.js';
import { runUrl } from '../../cli/run-commands.js';
import { APPROVAL_HANDLERS, type ApprovalDecision, type ApprovalState } from '../../lib/approval-contracts.js';
import { messageOf } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { queryRegistry } from '../../lib/registry-client.js';
import type { ModelVersion } from '../../lib/registry-contracts.js';
import { createControlWorker } from '../../workers/control-worker.js';
import { type Suite, connectTestClient, createSuite } from './harness.js';

const log = createLogger({ level: 'error' });
const FIXTURE_PIPELINES = join(PROJECT_ROOT, 'test', 'fixtures', 'pipelines');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('approval from the Temporal Web UI', () => {
  let suite: Suite;
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: Worker;
  let running: Promise<void>;
  let browser: Browser;

  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }).catch((err: unknown) => {
      throw new Error(`Chromium could not start from ${CHROMIUM} (install Debian's package: apt-get install -y chromium): ${messageOf(err)}`);
    });
    suite = await createSuite('web-ui', { pipelines: { dirs: [FIXTURE_PIPELINES] } });
    ({ client, close: closeClient } = await connectTestClient(suite.config));
    ({ worker } = await createControlWorker({ config: suite.config, log, activities: createRegistryActivities({ log }) }));
    running = worker.run();
  });
  after(async () => {
    await browser?.close();
    worker?.shutdown();
    await running;
    await closeClient?.();
  });

  test('an approver sends the approve signal from the run page and the run continues to its end', async () => {
    const model = `m${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.start('gated', {
      taskQueue: suite.config.taskQueues.control,
      workflowId: `gated-${model}`,
      args: [{ params: { model, approvers: ['ana'] } }],
    });
    await waitFor(async () => (await handle.query<ApprovalState | null>(APPROVAL_HANDLERS.state)) !== null);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await page.goto(runUrl(suite.config, handle.workflowId)!);
      await status(page, 'running').waitFor();
      await shot(page, '1-waiting');

      await page.getByRole('button', { name: 'More Actions' }).click();
      await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
      const dialog = page.locator('dialog[open]');
      await dialog.getByTestId('signal-select-button').click();
      // The dialog lists the run's signals with the descriptions the gate registered.
      const option = dialog.getByRole('option').filter({ hasText: /^\s*approve\b/ });
      assert.match(await option.innerText(), /Approve m[0-9a-f]{8} v1 with \{"by": "<your name>", "comment": "<why>"\}/);
      await option.click();
      await dialog.getByRole('textbox', { name: 'Data' }).click();
      // insertText: no key events, so the editor does not auto-close braces and quotes.
      await page.keyboard.insertText(JSON.stringify({ by: 'ana', comment: 'approved in the Web UI' }));
      await shot(page, '2-signal');
      await dialog.getByTestId('confirm-modal-button').click();

      await status(page, 'completed').waitFor({ timeout: 30_000 });
      await shot(page, '3-completed');
    } finally {
      await page.close();
    }

    const { result } = (await handle.result()) as { result: { version: number; decision: ApprovalDecision } };
    assert.deepEqual([result.decision.approved, result.decision.by, result.decision.comment, result.decision.via], [true, 'ana', 'approved in the Web UI', 'signal']);
    const v = await queryRegistry<ModelVersion>(client, model, 'get', 1);
    assert.equal(v.status, 'approved');
    assert.deepEqual(v.decisions.at(-1), { action: 'approve', by: 'ana', at: result.decision.at, comment: 'approved in the Web UI' });
  });
});

/** The run's status badge (the UI upper-cases it with CSS). */
const status = (page: Page, name: string) => page.getByText(new RegExp(`^${name}$`, 'i')).filter({ visible: true }).first();

async function shot(page: Page, name: string): Promise<void> {
  const dir = process.env.PLUMB_UI_SHOTS;
  if (dir) await page.screenshot({ path: join(dir, `web-ui-approval-${name}.png`) });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
