// Workload API endpoint addresses (SPIFFE_ENDPOINT_SOCKET): unix:///absolute/path or tcp://IP:port only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlyMeError } from '../../../src/errors.js';
import { ENDPOINT_ENV, endpointFrom, endpointTarget } from '../../../src/spiffe/endpoint.js';

const is = (code: string) => (e: unknown) => {
  assert.ok(e instanceof FlyMeError, `expected a FlyMeError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return true;
};

test('accepted addresses and their grpc-js targets', () => {
  assert.equal(endpointTarget('unix:///run/a.sock'), 'unix:///run/a.sock');
  assert.equal(endpointTarget('unix:/run/a.sock'), 'unix:///run/a.sock');
  assert.equal(endpointTarget('tcp://127.0.0.1:8000'), '127.0.0.1:8000');
  assert.equal(endpointTarget('tcp://[::1]:8000'), '[::1]:8000');
});

// Each refused address next to the nearest valid one (its control).
const REFUSED: [bad: string, control: string][] = [
  ['unix:relative', 'unix:/relative'],
  ['unix://host/path', 'unix:///path'],
  ['unix:///p?q=1', 'unix:///p'],
  ['unix:///p#f', 'unix:///p'],
  ['unix://user@/p', 'unix:///p'],
  ['unix:///', 'unix:///s'],
  ['tcp://localhost:8000', 'tcp://127.0.0.1:8000'],
  ['tcp://127.0.0.1', 'tcp://127.0.0.1:8000'],
  ['tcp://127.0.0.1:8000/path', 'tcp://127.0.0.1:8000'],
  ['tcp://u:p@127.0.0.1:8000', 'tcp://127.0.0.1:8000'],
  ['http://127.0.0.1:80', 'tcp://127.0.0.1:80'],
  ['not a url', 'unix:///not-a-url'],
];

for (const [bad, control] of REFUSED) {
  test(`refused: ${JSON.stringify(bad)} → FLYME_INVALID_ADDRESS (control ${control} accepted)`, () => {
    assert.equal(typeof endpointTarget(control), 'string');
    assert.throws(() => endpointTarget(bad), is('FLYME_INVALID_ADDRESS'));
  });
}

test('endpointFrom: the argument wins; else SPIFFE_ENDPOINT_SOCKET; else FLYME_INVALID_CONFIG', (t) => {
  const saved = process.env[ENDPOINT_ENV];
  t.after(() => {
    if (saved === undefined) delete process.env[ENDPOINT_ENV];
    else process.env[ENDPOINT_ENV] = saved;
  });
  assert.equal(ENDPOINT_ENV, 'SPIFFE_ENDPOINT_SOCKET');
  delete process.env[ENDPOINT_ENV];
  assert.throws(() => endpointFrom(undefined), is('FLYME_INVALID_CONFIG'));
  assert.throws(() => endpointFrom(), is('FLYME_INVALID_CONFIG'));
  assert.equal(endpointFrom('unix:///run/x.sock'), 'unix:///run/x.sock');
  process.env[ENDPOINT_ENV] = 'unix:///run/flyme/agent.sock';
  assert.equal(endpointFrom(undefined), 'unix:///run/flyme/agent.sock');
  assert.equal(endpointFrom('tcp://127.0.0.1:9'), 'tcp://127.0.0.1:9');
  process.env[ENDPOINT_ENV] = '';
  assert.throws(() => endpointFrom(undefined), is('FLYME_INVALID_CONFIG'));
});
