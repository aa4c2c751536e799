// A caller allowed a privileged method (`list`) calls it as fast as it can: the audit log records the first
// 10 calls of each second one by one and the rest as a summary with their count, so the flood cannot rotate
// earlier records (its own denials) out of the log. Before, every call was a signed record (~850 a second).
// Control: every call is still counted (individual records + summary counts = calls made), and the log verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/rpc/client.js';
import { startDaemon, runCli, tempDir } from '../helpers/daemon.js';

const CALLS = 400;

test('a flood of allowed privileged calls is coalesced in the audit log, every call counted', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const log = join(dir, 'audit', 'audit.log');
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `roles:\n  lister: { methods: [list], list: { roots: [${dir}] } }\nbindings:\n  - { uid: ${process.getuid?.() ?? 0}, roles: [lister] }\n`);
  const d = await startDaemon(['--socket-mode', '0600', '--policy', policy, '--audit-log', log], { dir });
  const client = await connect(d.url);
  try {
    for (let i = 0; i < CALLS; i += 20) await Promise.all(Array.from({ length: 20 }, () => client.call('list', { paths: [dir] })));
  } finally {
    await client.close();
    await d.stop();
  }
  const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; subject?: string; details?: { count?: number; coalesced?: boolean } });
  const calls = records.filter((r) => r.kind === 'privileged_call' && r.subject === 'list');
  const single = calls.filter((r) => !r.details?.coalesced).length;
  const summarized = calls.filter((r) => r.details?.coalesced).reduce((n, r) => n + (r.details!.count ?? 0), 0);
  assert.equal(single + summarized, CALLS, `every call counted: ${single} records + ${summarized} in summaries`);
  assert.ok(calls.length < CALLS / 4, `${calls.length} records for ${CALLS} calls`);
  assert.ok(single >= 10, 'control: the first calls of a second are recorded one by one');
  const ok = await runCli(['audit-log', 'verify', log]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
});
