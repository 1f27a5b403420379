// Replays recorded histories (test/fixtures/histories, made by `npm run record-histories`)
// against the current workflow code: a change that would break runs already waiting at an
// approval gate, or a registry already holding versions, fails here.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { createLogger } from '../../lib/logger.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { installTemporalRuntime } from '../../workers/temporal-runtime.js';
import { writeWorkflowEntry } from '../../workers/workflow-entry.js';
import { readHistoryFile } from '../history-files.js';

const HISTORIES = join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
const FIXTURE_PIPELINES = join(PROJECT_ROOT, 'test', 'fixtures', 'pipelines');
installTemporalRuntime(createLogger({ level: 'error' }));

describe('recorded histories replay against the current workflow code', () => {
  test('the approval gate (waiting, approved, timed out) and the registry replay without nondeterminism', async () => {
    const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(files, ['gate-finished.json', 'gate-timeout.json', 'gate-waiting.json', 'registry.json']);
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
});
