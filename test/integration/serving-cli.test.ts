import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { PlumbError } from '../../lib/errors.js';
import { registerServingCommands } from '../../cli/serving.js';
import { logisticModel, logisticProbability } from '../fixtures/onnx-models.js';
import { call, makeStack, row, startPool, storeModel } from './serving-harness.js';

test('plumb predict prints the pool answer as JSON and refuses bad instances', async () => {
  const stack = await makeStack();
  const pool = await startPool(stack);
  try {
    await call(pool.url, '/admin/models/churn/versions', { body: { version: 1, ref: await storeModel(stack, logisticModel()) } });
    const program = new Command().exitOverride();
    registerServingCommands(program, async () => stack.config);
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => out.push(chunk) > 0) as typeof process.stdout.write;
    try {
      await program.parseAsync(['predict', 'churn', '--url', pool.url, '--json', JSON.stringify([row(2)])], { from: 'user' });
    } finally {
      process.stdout.write = write;
    }
    const result = JSON.parse(out.join(''));
    assert.equal(result.version, '1');
    assert.equal(Math.round(result.predictions[0].probabilities[1] * 1e5), Math.round(logisticProbability(row(2)) * 1e5));
    await assert.rejects(
      program.parseAsync(['predict', 'churn', '--url', pool.url, '--json', '[{"tenure": 1}]'], { from: 'user' }),
      (err: unknown) => err instanceof PlumbError && err.kind === 'BadInput' && err.message === 'serving pool answered 400: instances[0].monthly_charges: missing',
    );
    await assert.rejects(
      program.parseAsync(['predict', 'churn', '--url', pool.url, '--json', '{oops'], { from: 'user' }),
      (err: unknown) => err instanceof PlumbError && err.message.startsWith('--json: not valid JSON'),
    );
  } finally {
    await pool.close();
    await stack.cleanup();
  }
});
