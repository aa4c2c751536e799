// The CA over gRPC: a certificate that is not an attested agent's (here a workload SVID of the same CA) gets
// PERMISSION_DENIED at once on SyncAgent — the stream ends with a status instead of hanging — while an
// attested agent's SyncAgent delivers its state (the control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { AgentCaClient, Authority, initCaDir, serveCa } from '../../../src/ca/index.js';
import { parseSvid, StaticX509Source, TrustBundle } from '../../../src/identity/index.js';
import { derToPem, keyAndCsr } from '../../../src/spiffe/agent/ca-link.js';

const TD = 'ca-server.test';

test('SyncAgent: PERMISSION_DENIED at once for a non-agent; state for an attested agent', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-ca-srv-'));
  await initCaDir(dir, { trustDomain: TD });
  const authority = await Authority.open({ dataDir: dir });
  const server = await serveCa({ authority, listen: ['tls://127.0.0.1:0'] });
  const url = server.addresses[0]!;
  const bundle = TrustBundle.fromCertificates([authority.root]);
  const sourceFor = async (chain: Uint8Array[], keyPem: string) => StaticX509Source.create({ svids: [await parseSvid(derToPem(chain), keyPem)], bundle });
  const sync = (c: AgentCaClient) => new Promise<{ state?: unknown; err?: grpc.ServiceError; ms: number }>((resolve) => {
    const t0 = Date.now();
    const stop = c.sync((s) => { stop(); resolve({ state: s, ms: Date.now() - t0 }); }, (err) => resolve({ ...(err ? { err } : {}), ms: Date.now() - t0 }));
  });
  try {
    const agentId = `spiffe://${TD}/agent/a`;
    const { token } = await authority.createJoinToken(agentId, 600);
    const a = await keyAndCsr();
    const agent = await AgentCaClient.withIdentity(url, await sourceFor((await authority.attestAgent(token, a.csr)).chain, a.keyPem));
    const ok = await sync(agent);
    assert.ok(ok.state, `control: the agent gets its state (${ok.err?.details})`);
    agent.close();

    const entry = await authority.createEntry({ spiffeId: `spiffe://${TD}/web`, parentId: agentId, selectors: ['unix:uid:1000'] });
    const w = await keyAndCsr();
    const workload = await AgentCaClient.withIdentity(url, await sourceFor((await authority.mintX509(agentId, entry.id, w.csr)).chain, w.keyPem));
    const refused = await sync(workload);
    assert.equal(refused.err?.code, grpc.status.PERMISSION_DENIED, refused.err?.details);
    assert.ok(refused.ms < 3000, `answered in ${refused.ms} ms`);
    workload.close();
  } finally {
    await server.close();
    authority.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
