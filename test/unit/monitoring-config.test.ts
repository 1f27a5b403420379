import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStackConfig } from '../../lib/config.js';

test('the monitoring section defaults to a 6-hour alert repeat and no webhook', () => {
  assert.deepEqual(parseStackConfig({}, '/stack/temporal-dev.yml').monitoring, { alertRepeatMinutes: 360 });
});

test('the monitoring section accepts an http webhook and a repeat interval', () => {
  const config = parseStackConfig({ monitoring: { alertWebhookUrl: 'http://127.0.0.1:9000/hook', alertRepeatMinutes: 30 } }, '/stack/temporal-dev.yml');
  assert.deepEqual(config.monitoring, { alertWebhookUrl: 'http://127.0.0.1:9000/hook', alertRepeatMinutes: 30 });
});

test('a non-http alert webhook is rejected naming the field', () => {
  assert.throws(() => parseStackConfig({ monitoring: { alertWebhookUrl: 'ftp://127.0.0.1/x' } }, '/stack/temporal-dev.yml'), {
    message: '/stack/temporal-dev.yml: monitoring.alertWebhookUrl: Invalid URL',
  });
});
