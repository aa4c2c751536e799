// The issue's (and the study's) command line works as written: `flyme service --bind-ip 127.0.0.2 --port 9005
// --proxy-port 50055 --sni service-a.example.org --registry tls://[::1]:9090` (here 127.0.0.4, a free proxy port
// and the registry's bound [::1] port). Without --registry-id it accepts any SPIFFE ID of its trust domain as the
// registry and says so (a warning naming the flag); --proxy-port without an --upstream is an HTTP CONNECT proxy:
// CONNECT to the service's own registered name is answered 200 (its owner verified), an unregistered name 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import { tempDir } from '../helpers/daemon.js';
import { startFlyme } from '../helpers/agent.js';
import { meshCerts } from '../helpers/mesh.js';

const A = 'spiffe://example.org/svc/service-a';

const freePort = () => new Promise<number>((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); }); });
const firstLine = (port: number, head: string) => new Promise<string>((res) => {
  const s = connect({ host: '127.0.0.1', port });
  let text = '';
  s.on('data', (d) => { text += String(d); if (text.includes('\r\n')) { s.destroy(); res(text.slice(0, text.indexOf('\r\n'))); } });
  s.on('error', () => undefined);
  s.on('close', () => res(text));
  s.write(head);
});

test('service: the study\'s flags as written (no --registry-id, --proxy-port alone) work', { timeout: 60_000 }, async () => {
  const dir = tempDir('flyme-mesh-svc-study-');
  const certs = await meshCerts(dir, { 'service-a': A });
  const reg = await startFlyme(['--certs', certs, 'registry', 'serve', '--zone', 'example.org', '--policy', join(dir, 'policy.yaml'),
    '--listen', 'tls://[::1]:0', '--data-dir', join(dir, 'data')], 'flyme registry ready');
  const listeners = (reg.log().split('\n').map((l) => { try { return JSON.parse(l) as { msg?: string; listeners?: string[] }; } catch { return {}; } }).find((l) => l.msg === 'flyme registry ready')!).listeners!;
  const proxyPort = await freePort();
  try {
    const svc = await startFlyme(['--certs', certs, 'service', '--svid', 'service-a', '--bind-ip', '127.0.0.4', '--port', '9005',
      '--proxy-port', String(proxyPort), '--sni', 'service-a.example.org', '--registry', listeners[0]!], 'flyme service ready');
    try {
      assert.match(listeners[0]!, /^tls:\/\/\[::1\]:\d+$/);
      assert.match(svc.log(), /"event":"registry_id_unpinned".*pin it with --registry-id/);
      assert.match(svc.log(), /HTTP CONNECT/);
      assert.equal(await firstLine(proxyPort, 'CONNECT service-a.example.org:443 HTTP/1.1\r\n\r\n'), 'HTTP/1.1 200 Connection Established');
      assert.equal(await firstLine(proxyPort, 'CONNECT service-z.example.org:443 HTTP/1.1\r\n\r\n'), 'HTTP/1.1 404 Not Found');
    } finally {
      await svc.stop();
    }
  } finally {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
