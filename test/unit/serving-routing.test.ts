import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from '../../serving/circuit-breaker.js';
import { chooseRoute, stickyPoint } from '../../serving/router.js';

const all = () => true;

test('sends everything to stable without a candidate', () => {
  assert.deepEqual(chooseRoute({ stable: '1' }, { routingKey: undefined, random: () => 0 }, all), { version: '1', route: 'stable' });
});

test('sends the candidate the requests that fall under its weight', () => {
  const routing = { stable: '1', candidate: { version: '2', weight: 25, mode: 'live' as const } };
  assert.deepEqual(chooseRoute(routing, { routingKey: undefined, random: () => 0.2 }, all), { version: '2', route: 'candidate' });
  assert.deepEqual(chooseRoute(routing, { routingKey: undefined, random: () => 0.3 }, all), { version: '1', route: 'stable' });
});

test('in shadow mode answers from stable and names the candidate as shadow', () => {
  const routing = { stable: '1', candidate: { version: '2', weight: 100, mode: 'shadow' as const } };
  assert.deepEqual(chooseRoute(routing, { routingKey: undefined, random: () => 0.5 }, all), { version: '1', route: 'stable', shadow: '2' });
});

test('skips an unavailable candidate and falls back to it only when stable is down', () => {
  const routing = { stable: '1', candidate: { version: '2', weight: 100, mode: 'live' as const } };
  assert.deepEqual(chooseRoute(routing, { routingKey: undefined, random: () => 0 }, (v) => v === '1'), { version: '1', route: 'stable' });
  assert.deepEqual(chooseRoute({ ...routing, candidate: { ...routing.candidate, weight: 0 } }, { routingKey: undefined, random: () => 0 }, (v) => v === '2'), undefined);
  assert.deepEqual(chooseRoute({ ...routing, candidate: { ...routing.candidate, weight: 10 } }, { routingKey: undefined, random: () => 0.9 }, (v) => v === '2'), { version: '2', route: 'candidate' });
});

test('places routing keys uniformly and stably', () => {
  assert.equal(stickyPoint('customer-17'), stickyPoint('customer-17'));
  const deciles = new Array(10).fill(0);
  for (let i = 0; i < 10_000; i++) deciles[Math.floor(stickyPoint(`customer-${i}`) / 10)]++;
  // binomial(10000, 0.1): 5 standard deviations is 150
  assert.ok(deciles.every((n) => Math.abs(n - 1000) < 150), JSON.stringify(deciles));
});

test('opens the breaker after the failure threshold, then lets one trial decide', () => {
  const b = new CircuitBreaker({ window: 4, failures: 3, cooldownMs: 100 });
  assert.deepEqual([b.record(false, 0), b.record(true, 1), b.record(false, 2), b.record(false, 3)], [false, false, false, true]);
  assert.equal(b.state(50), 'open');
  assert.equal(b.allows(50), false);
  assert.equal(b.state(103), 'half-open');
  assert.equal(b.record(false, 104), true);
  assert.equal(b.state(150), 'open');
  assert.equal(b.state(205), 'half-open');
  assert.equal(b.record(true, 206), false);
  assert.equal(b.state(207), 'closed');
});

test('forgets failures that slid out of the window', () => {
  const b = new CircuitBreaker({ window: 3, failures: 2, cooldownMs: 100 });
  b.record(false, 0);
  b.record(true, 1);
  b.record(true, 2);
  assert.equal(b.record(false, 3), false);
  assert.equal(b.state(4), 'closed');
});
