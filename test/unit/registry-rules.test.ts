import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PlumbError } from '../../lib/errors.js';
import { type RegisterInput, type RegistryState, emptyRegistry } from '../../lib/registry-contracts.js';
import { applyRegister, applyRetire, applyRollback, applyVersionChange, checkRetire, checkRollback, checkVersionChange, history, listing, productionAt } from '../../lib/registry-rules.js';

const sha = (c: string) => c.repeat(64);
const registration = (run: string): RegisterInput => ({
  model: {
    kind: 'model',
    uri: `artifact://${sha('c')}`,
    sha256: sha('c'),
    bytes: 10,
    format: 'onnx',
    features: [{ name: 'x', type: 'numeric' }],
    label: 'y',
    trainer: 'fixture',
    createdAt: '2026-01-01T00:00:00.000Z',
  },
  lineage: { workflowId: 'churn-1', runId: run, datasets: [] },
  by: 'pipeline',
});
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));

/** v1..vN registered, approved and promoted in turn, at minutes 10, 20, 30... */
function promotedInTurn(n: number): RegistryState {
  const s = emptyRegistry('churn');
  for (let i = 1; i <= n; i++) {
    applyRegister(s, registration(`r${i}`), at(i * 10 - 2));
    applyVersionChange(s, 'approve', { version: i, by: 'ana' }, at(i * 10 - 1));
    applyVersionChange(s, 'promote', { version: i, by: 'ana' }, at(i * 10));
  }
  return s;
}

const refusedWith = (fn: () => unknown, kind: string, message: string) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PlumbError);
    assert.deepEqual([err.kind, err.message], [kind, message]);
    return true;
  });

describe('registry rules', () => {
  test('numbers versions, makes the newest the candidate, and gives a run its earlier version back', () => {
    const s = emptyRegistry('churn');
    assert.deepEqual(applyRegister(s, registration('a'), at(0)), { model: 'churn', version: 1, created: true });
    assert.deepEqual(applyRegister(s, registration('b'), at(1)), { model: 'churn', version: 2, created: true });
    assert.deepEqual(applyRegister(s, registration('a'), at(2)), { model: 'churn', version: 1, created: false });
    assert.deepEqual(listing(s).aliases, { candidate: 2 });
  });

  test('refuses to approve a version twice, naming its status', () => {
    const s = emptyRegistry('churn');
    applyRegister(s, registration('a'), at(0));
    applyVersionChange(s, 'approve', { version: 1, by: 'ana' }, at(1));
    refusedWith(() => checkVersionChange(s, 'approve', { version: 1, by: 'bo' }), 'Conflict', 'cannot approve churn version 1: it is approved; only a registered version can be approved');
  });

  test('applies a repeated change (same action, author and time) once', () => {
    const s = emptyRegistry('churn');
    applyRegister(s, registration('a'), at(0));
    const change = { version: 1, by: 'ana', at: at(5).toISOString() };
    applyVersionChange(s, 'approve', change, at(6));
    applyVersionChange(s, 'approve', change, at(7));
    assert.deepEqual(
      history(s).decisions.map((d) => [d.action, d.at]),
      [
        ['register', at(0).toISOString()],
        ['approve', at(5).toISOString()],
      ],
    );
  });

  test('refuses to archive or reject the production version', () => {
    const s = promotedInTurn(1);
    refusedWith(
      () => checkVersionChange(s, 'archive', { version: 1, by: 'ana' }),
      'Conflict',
      'cannot archive churn version 1: it is production; the production version cannot be archived (promote another version, roll back, or retire the model first)',
    );
    refusedWith(
      () => checkVersionChange(s, 'reject', { version: 1, by: 'ana' }),
      'Conflict',
      'cannot reject churn version 1: it is production; only a registered or approved version can be rejected (roll back a production version instead)',
    );
  });

  test('keeps one production version: promoting archives the previous one', () => {
    const s = promotedInTurn(2);
    assert.deepEqual(
      listing(s).versions.map((v) => [v.version, v.status]),
      [
        [1, 'archived'],
        [2, 'production'],
      ],
    );
  });

  test('rolls back through earlier production versions, most recent first, then refuses', () => {
    const s = promotedInTurn(3);
    assert.equal(applyRollback(s, { by: 'bo' }, at(40)).version, 2);
    assert.equal(applyRollback(s, { by: 'bo' }, at(50)).version, 1);
    refusedWith(() => checkRollback(s, { by: 'bo' }), 'Conflict', 'cannot roll back churn: version 1 is production and there is no previous production version');
    refusedWith(() => checkRollback(emptyRegistry('churn'), { by: 'bo' }), 'Conflict', 'cannot roll back churn: no version is in production');
  });

  test('answers which version was production at a time, including the period boundaries', () => {
    const s = promotedInTurn(2);
    applyRollback(s, { by: 'bo' }, at(30));
    assert.equal(productionAt(s, at(9).toISOString()), null);
    assert.equal(productionAt(s, at(10).toISOString()), 1);
    assert.equal(productionAt(s, at(19).toISOString()), 1);
    assert.equal(productionAt(s, at(20).toISOString()), 2);
    assert.equal(productionAt(s, at(30).toISOString()), 1);
    refusedWith(() => productionAt(s, 'yesterday'), 'BadInput', 'productionAt: "yesterday" is not a date-time (expected ISO 8601, e.g. 2026-01-31T12:00:00Z)');
  });

  test('refuses a register whose model ref is not valid, naming the field', () => {
    const bad = { ...registration('a'), model: { ...registration('a').model, sha256: 'xyz' } };
    refusedWith(() => applyRegister(emptyRegistry('churn'), bad, at(0)), 'BadInput', 'register: model.sha256: expected a lowercase hex sha256 (64 characters)');
  });

  test('retiring archives the production version, leaves no production version and closes its production period', () => {
    const s = promotedInTurn(2);
    const retired = applyRetire(s, { by: 'bo', comment: 'product discontinued' }, at(30));
    assert.deepEqual([retired.version, retired.status], [2, 'archived']);
    assert.deepEqual(listing(s).aliases, {});
    assert.deepEqual(
      history(s).decisions.slice(-2).map((d) => [d.version, d.action, d.by, d.comment]),
      [
        [2, 'retire', 'bo', 'product discontinued'],
        [2, 'archive', 'bo', 'retired: the model left production'],
      ],
    );
    assert.deepEqual(history(s).productionHistory.at(-1), { version: 2, from: at(20).toISOString(), to: at(30).toISOString() });
    assert.equal(productionAt(s, at(30).toISOString()), null);
  });

  test('after a retirement nothing rolls back, and a new production line does not return to a retired version', () => {
    const s = promotedInTurn(2);
    applyRetire(s, { by: 'bo' }, at(30));
    refusedWith(() => checkRollback(s, { by: 'bo' }), 'Conflict', 'cannot roll back churn: no version is in production');
    applyRegister(s, registration('r3'), at(40));
    applyVersionChange(s, 'approve', { version: 3, by: 'ana' }, at(41));
    applyVersionChange(s, 'promote', { version: 3, by: 'ana' }, at(42));
    refusedWith(() => checkRollback(s, { by: 'bo' }), 'Conflict', 'cannot roll back churn: version 3 is production and there is no previous production version');
  });

  test('refuses to retire a model with no production version, saying whether one ever was', () => {
    const s = emptyRegistry('churn');
    applyRegister(s, registration('a'), at(0));
    refusedWith(() => checkRetire(s, { by: 'bo' }), 'Conflict', 'cannot retire churn: no version is in production (none ever was)');
    const retired = promotedInTurn(1);
    applyRetire(retired, { by: 'bo' }, at(20));
    refusedWith(() => checkRetire(retired, { by: 'bo' }), 'Conflict', `cannot retire churn: no version is in production (v1 was, until ${at(20).toISOString()})`);
  });

  test('applies a repeated retirement (same author and time) once, answering with the retired version', () => {
    const s = promotedInTurn(1);
    const change = { by: 'bo', at: at(20).toISOString() };
    applyRetire(s, change, at(21));
    assert.deepEqual([applyRetire(s, change, at(22)).version, history(s).decisions.filter((d) => d.action === 'retire').length], [1, 1]);
  });

  test('refuses a retirement without an author, naming the field', () => {
    refusedWith(() => checkRetire(promotedInTurn(1), { by: ' ' }), 'BadInput', 'retire: by: expected who decides (a non-empty name)');
  });
});
