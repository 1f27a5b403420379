// Replays recorded histories (test/fixtures/histories, made by `npm run record-histories`)
// against the current workflow code: a change that would break runs already waiting at an
// approval gate, a registry already holding versions, or a canary rollout under way fails here.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { CANARY_HANDLERS, type CanaryResult } from '../../lib/canary-contracts.js';
import { createLogger } from '../../lib/logger.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { installTemporalRuntime } from '../../workers/temporal-runtime.js';
import { writeWorkflowEntry } from '../../workers/workflow-entry.js';
import { readHistoryFile } from '../history-files.js';

const HISTORIES = join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
const FIXTURE_PIPELINES = join(PROJECT_ROOT, 'test', 'fixtures', 'pipelines');
installTemporalRuntime(createLogger({ level: 'error' }));

describe('recorded histories replay against the current workflow code', () => {
  test('the approval gate (waiting, approved, timed out), the registry and a canary rollout replay without nondeterminism', async () => {
    const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(files, ['canary-promoted.json', 'gate-finished.json', 'gate-timeout.json', 'gate-waiting.json', 'registry.json']);
    const histories = await Promise.all(files.map(async (f) => ({ workflowId: f, history: await readHistoryFile(join(HISTORIES, f)) })));
    const failures: string[] = [];
    const replayed: string[] = [];
    for await (const r of Worker.runReplayHistories({ workflowsPath: await writeWorkflowEntry([FIXTURE_PIPELINES]) }, histories)) {
      replayed.push(r.workflowId);
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(replayed.sort(), files);
  });

  test('a canary rollout promoted through its steps after a pause, an ignored signal and a resume replays', async () => {
    const history = await readHistoryFile(join(HISTORIES, 'canary-promoted.json'));
    const events = history.events ?? [];
    // The recording holds what it claims: both steps routed, the pause and resume Updates, the
    // ignored pause Signal, the promotion.
    const activities = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.deepEqual(activities, ['servingLoadVersion', 'servingSetRouting', 'servingReportMetrics', 'servingSetRouting', 'servingReportMetrics', 'recordModelDecision', 'servingSetRouting']);
    const updates = events.flatMap((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? []);
    assert.deepEqual(updates, [CANARY_HANDLERS.pause, CANARY_HANDLERS.resume]);
    assert.deepEqual(events.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []), [CANARY_HANDLERS.pause]);
    const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes;
    const result = JSON.parse(Buffer.from(completed!.result!.payloads![0]!.data!).toString('utf8')) as CanaryResult;
    assert.deepEqual([result.outcome, result.reason, result.serving], ['promoted', 'all 2 steps passed', '2']);

    await Worker.runReplayHistory({ workflowsPath: await writeWorkflowEntry([FIXTURE_PIPELINES]) }, history, 'canary/recorded-canary/v2');
  });
});
