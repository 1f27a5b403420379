import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApprovalOptions, ApprovalPayload, durationMs } from '../../lib/approval-contracts.js';
import { formatIssues } from '../../lib/zod-issues.js';

const problems = (r: { success: boolean; error?: Parameters<typeof formatIssues>[0] }) => (r.success ? 'ok' : formatIssues(r.error!));

describe('approval contracts', () => {
  test('reads durations the way Temporal timers do', () => {
    assert.equal(durationMs('3 days'), 3 * 24 * 3600 * 1000);
    assert.equal(durationMs('90m'), 90 * 60 * 1000);
    assert.equal(durationMs(1500), 1500);
  });

  test('rejects gate options without approvers or with a duration it cannot read, naming the field', () => {
    assert.equal(problems(ApprovalOptions.safeParse({ approvers: [] })), 'approvers: expected at least one approver');
    assert.equal(
      problems(ApprovalOptions.safeParse({ approvers: ['ana'], timeout: 'soon' })),
      'timeout: expected a duration such as "3 days", "90 minutes", "1h" or a number of milliseconds',
    );
  });

  test('rejects a decision payload without "by" or with unknown fields', () => {
    assert.equal(problems(ApprovalPayload.safeParse({ comment: 'ok' })), 'by: Invalid input: expected string, received undefined');
    assert.equal(problems(ApprovalPayload.safeParse({ by: 'ana', approved: true })), 'unknown key approved');
  });
});
