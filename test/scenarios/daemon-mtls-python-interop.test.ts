// Interop: a Python 3 `ssl` client over AF_UNIX with the FlyMe client certificate completes the TLS 1.3
// handshake and gets a JSON-RPC answer; without a certificate it is refused (control of the control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startMtlsDaemon } from '../helpers/daemon.js';

const PY = '/usr/bin/python3';
const script = `
import socket, ssl, sys, json
path, certs, with_cert = sys.argv[1], sys.argv[2], sys.argv[3] == '1'
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.check_hostname = False          # SPIFFE: the identity is in the URI SAN, not a hostname
ctx.load_verify_locations(certs + '/root-ca.pem')
if with_cert:
    ctx.load_cert_chain(certs + '/client.pem', certs + '/client.key.pem')
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(path)
t = ctx.wrap_socket(s)
try:
    t.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"message":"from python"}}\\n')
    buf = b''
    while not buf.endswith(b'\\n'):
        d = t.recv(4096)
        if not d: break
        buf += d
    print(json.loads(buf)['result']['message'])
except Exception as e:
    print('refused:', type(e).__name__, e)
    sys.exit(3)
`;

test('python ssl over AF_UNIX: served with the client cert, refused without', { skip: !existsSync(PY) && 'needs /usr/bin/python3' }, async () => {
  const { d, certs, sock } = await startMtlsDaemon();
  try {
    const ok = spawnSync(PY, ['-c', script, sock, certs, '1'], { encoding: 'utf8', timeout: 15000 });
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);
    assert.equal(ok.stdout.trim(), 'from python');
    const no = spawnSync(PY, ['-c', script, sock, certs, '0'], { encoding: 'utf8', timeout: 15000 });
    assert.notEqual(no.status, 0);
    assert.doesNotMatch(no.stdout, /from python/);
  } finally {
    await d.stop();
  }
});

test('openssl s_client -unix gets a JSON-RPC answer with the client cert', async () => {
  const { d, certs, sock } = await startMtlsDaemon();
  try {
    const r = spawnSync('sh', ['-c', `(printf '%s\\n' '{"jsonrpc":"2.0","id":7,"method":"ping","params":{"message":"from openssl"}}'; sleep 1) | openssl s_client -unix ${sock} -cert ${certs}/client.pem -key ${certs}/client.key.pem -CAfile ${certs}/root-ca.pem -tls1_3 -quiet`], { encoding: 'utf8', timeout: 15000 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, r.stdout + r.stderr);
    const msg = JSON.parse(line);
    assert.equal(msg.id, 7);
    assert.equal(msg.result.message, 'from openssl');
  } finally {
    await d.stop();
  }
});
