// `flyme probe` catches authentication weaknesses under flymed's default TLS authorizer (any ID of its trust
// domain is admitted at TLS): a policy that gives every certificate of the CA everything (spiffeIdPrefix of
// the whole trust domain), and one that gives every caller status (a binding on the caller's gid), are each
// reported NOT REFUSED for "SPIFFE ID not authorized", exit 1. Control: a properly configured daemon (the
// same authorizer, a policy binding only uid 0) exits 0 with that case refused, not skipped (the old probe
// skipped it in all three).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, cpSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startMtlsDaemon, tempDir, isRoot, NOBODY } from '../helpers/daemon.js';

interface Result { name: string; outcome: string; detail: string }

async function probeWithPolicy(policy: string): Promise<{ code: number | null; spiffe: Result; raw: string }> {
  const dir = tempDir();
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(policyPath, policy);
  const init = await runCli(['certs', 'init', '--dir', join(dir, 'certs')]);
  assert.equal(init.code, 0, init.stderr);
  const m = await startMtlsDaemon(['--policy', policyPath, '--idle-timeout', '1s', '--max-connections', '30', '--socket-mode', '0666'], { dir, certs: join(dir, 'certs') });
  try {
    // The probe runs as uid/gid 65534 with a copy of the client certificate and the CA key (to mint a stranger).
    const mine = join(dir, 'probe-certs');
    cpSync(m.certs, mine, { recursive: true });
    for (const f of ['', ...readdirSync(mine)]) chownSync(join(mine, f), NOBODY.uid, NOBODY.gid);
    const r = await runCli(['--connect', m.url, '--certs', mine, '--json', 'probe', '--slow-wait', '4s', '--flood', '40'], NOBODY);
    const out = JSON.parse(r.stdout) as { results: Result[] };
    const spiffe = out.results.find((x) => x.name === 'SPIFFE ID not authorized');
    assert.ok(spiffe, r.stdout);
    return { code: r.code, spiffe, raw: r.stdout + r.stderr };
  } finally {
    await m.d.stop();
  }
}

const skip = !isRoot && 'needs root to run the probe as uid 65534';

test('control: default authorizer, policy binds only uid 0: the stranger is refused (not skipped), exit 0', { skip }, async () => {
  const r = await probeWithPolicy('roles: {}\nbindings:\n  - { uid: 0, roles: [admin] }\n');
  assert.equal(r.spiffe.outcome, 'refused', r.raw);
  assert.match(r.spiffe.detail, /admitted at TLS but granted nothing: status → FLYME_PERMISSION_DENIED/);
  assert.equal(r.code, 0, r.raw);
});

test('every certificate of the CA holds a role granting everything: NOT REFUSED, exit 1', { skip }, async () => {
  const r = await probeWithPolicy([
    'roles:',
    '  everything: { methods: ["*"] }',
    'bindings:',
    '  - { uid: 0, roles: [admin] }',
    '  - { spiffeIdPrefix: "spiffe://flyme.local/", roles: [everything] }',
  ].join('\n') + '\n');
  assert.equal(r.spiffe.outcome, 'NOT REFUSED', r.raw);
  assert.match(r.spiffe.detail, /granted status through its certificate: everything from spiffe-prefix:spiffe:\/\/flyme\.local\//);
  assert.equal(r.code, 1, r.raw);
});

test("every caller of the probe's gid is granted status: NOT REFUSED, exit 1", { skip }, async () => {
  const r = await probeWithPolicy([
    'roles:',
    '  everyone: { methods: [status] }',
    'bindings:',
    '  - { uid: 0, roles: [admin] }',
    `  - { gid: ${NOBODY.gid}, roles: [everyone] }`,
  ].join('\n') + '\n');
  assert.equal(r.spiffe.outcome, 'NOT REFUSED', r.raw);
  assert.match(r.spiffe.detail, new RegExp(`granted status through the kernel identity of this process \\(everyone from gid:${NOBODY.gid}\\)`));
  assert.equal(r.code, 1, r.raw);
});
