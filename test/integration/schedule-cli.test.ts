import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { ScheduleInfo } from '../../lib/schedules.js';
import { type InProcessWorker, type Suite, createSuite, runPlumb, startInProcessWorker } from './harness.js';


describe('plumb schedule (CLI process)', () => {
  let suite: Suite;
  let client: Client;
  let control: InProcessWorker;
  let id: string;

  before(async () => {
    suite = await createSuite('schedule-cli');
    id = `nightly-${suite.name}`;
    control = await startInProcessWorker(suite);
    client = control.client;
  });
  after(async () => {
    await client.schedule.getHandle(id).delete().catch(() => {});
    await control?.stop();
  });

  const plumb = (...args: string[]) => runPlumb(suite, ...args);
  const json = <T>(r: { code: number; stdout: string; stderr: string }): T => {
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };
  const mine = async () => json<ScheduleInfo[]>(await plumb('schedule', 'list', '--json')).filter((s) => s.id === id);

  test('creates, lists, pauses, resumes, triggers and deletes a pipeline schedule', async () => {
    const created = json<ScheduleInfo>(
      await plumb('schedule', 'create', 'held_retrain', '--cron', '0 2 * * *', '--param', 'rows=500', '--param', 'reason=nightly', '--id', id, '--json'),
    );
    assert.deepEqual(
      [created.id, created.kind, created.workflowType, created.cron, created.params, created.paused, created.recentRuns],
      [id, 'pipeline', 'held_retrain', '0 2 * * *', { rows: 500, reason: 'nightly' }, false, []],
    );
    assert.match(created.nextRuns[0] ?? '', /T02:00:00\.000Z$/);
    const description = await client.schedule.getHandle(id).describe();
    assert.deepEqual([description.policies.overlap, description.policies.catchupWindow], ['SKIP', 3_600_000]);

    assert.deepEqual((await mine()).map((s) => s.id), [id]);
    assert.equal(json<ScheduleInfo>(await plumb('schedule', 'pause', id, '--note', 'holiday', '--json')).paused, true);
    assert.deepEqual((await mine()).map((s) => [s.paused, s.note]), [[true, 'holiday']]);
    assert.equal(json<ScheduleInfo>(await plumb('schedule', 'resume', id, '--json')).paused, false);

    assert.deepEqual(json(await plumb('schedule', 'trigger', id, '--json')), { id, triggered: true });
    let workflowId: string | undefined;
    await waitFor(async () => (workflowId = (await mine())[0]?.recentRuns[0]?.workflowId) !== undefined);
    assert.match(workflowId!, /^held_retrain-scheduled-/);
    const scheduled = client.workflow.getHandle(workflowId!);
    await scheduled.signal('finish');
    assert.deepEqual((await scheduled.result()).result, { reason: 'nightly', rows: 500 });

    assert.deepEqual(json(await plumb('schedule', 'delete', id, '--json')), { id, deleted: true });
    assert.deepEqual(await mine(), []);
  });

  test('rejects params that do not fit the pipeline, naming the param', async () => {
    const r = await plumb('schedule', 'create', 'held_retrain', '--cron', '0 2 * * *', '--param', 'rows=many', '--id', `${id}-bad`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^plumb: pipeline held_retrain: --param rows: .*expected number/);
  });

  test('rejects a cron expression without five fields', async () => {
    const r = await plumb('schedule', 'create', 'held_retrain', '--cron', '0 2 * *', '--id', `${id}-bad`);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'plumb: --cron "0 2 * *": expected 5 fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"\n');
  });

  test('names the missing schedule when asked to pause it', async () => {
    const r = await plumb('schedule', 'pause', `no-such-${suite.name}`);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `plumb: no schedule with id "no-such-${suite.name}" (see \`plumb schedule list\`)\n`);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 300));
  }
}
