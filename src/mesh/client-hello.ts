/**
 * The server name (SNI) of a TLS ClientHello, read from the first bytes of a connection without terminating
 * TLS (RFC 8446 4.1.2, RFC 6066 3). Only a ClientHello that fits in its first record is accepted (every
 * mainstream client sends it so); anything else is "not a ClientHello".
 */

/** Most bytes read before the SNI must be known (one TLS record). */
export const MAX_CLIENT_HELLO_BYTES = 5 + 16_384;

export type HelloResult = { kind: 'need-more' } | { kind: 'invalid'; why: string } | { kind: 'ok'; sni: string | undefined; bytes: number };

/** Parses `buf` (the connection's first bytes so far). */
export function readClientHello(buf: Buffer): HelloResult {
  if (buf.length < 5) return { kind: 'need-more' };
  if (buf[0] !== 0x16) return { kind: 'invalid', why: 'not a TLS handshake record' };
  if (buf[1] !== 0x03) return { kind: 'invalid', why: 'not a TLS record version' };
  const recLen = buf.readUInt16BE(3);
  if (recLen < 4 || recLen > 16_384) return { kind: 'invalid', why: 'bad record length' };
  if (buf.length < 5 + recLen) return { kind: 'need-more' };
  const r = buf.subarray(5, 5 + recLen);
  if (r[0] !== 0x01) return { kind: 'invalid', why: 'not a ClientHello' };
  const hsLen = (r[1]! << 16) | (r[2]! << 8) | r[3]!;
  if (hsLen + 4 > r.length) return { kind: 'invalid', why: 'ClientHello spans several records' };
  const h = r.subarray(4, 4 + hsLen);
  let p = 2 + 32; // legacy_version, random
  const need = (n: number) => { if (p + n > h.length) throw new RangeError('short'); };
  try {
    need(1); p += 1 + h[p]!; // session id
    need(2); p += 2 + h.readUInt16BE(p); // cipher suites
    need(1); p += 1 + h[p]!; // compression methods
    if (p === h.length) return { kind: 'ok', sni: undefined, bytes: 5 + recLen };
    need(2);
    const extEnd = p + 2 + h.readUInt16BE(p);
    p += 2;
    if (extEnd > h.length) return { kind: 'invalid', why: 'bad extensions length' };
    while (p + 4 <= extEnd) {
      const type = h.readUInt16BE(p);
      const len = h.readUInt16BE(p + 2);
      p += 4;
      if (p + len > extEnd) return { kind: 'invalid', why: 'bad extension length' };
      if (type === 0) { // server_name
        const e = h.subarray(p, p + len);
        if (e.length < 2) return { kind: 'invalid', why: 'bad server_name' };
        let q = 2;
        while (q + 3 <= e.length) {
          const nameType = e[q]!;
          const nameLen = e.readUInt16BE(q + 1);
          q += 3;
          if (q + nameLen > e.length) return { kind: 'invalid', why: 'bad server_name' };
          if (nameType === 0) {
            const name = e.subarray(q, q + nameLen).toString('latin1');
            if (!/^[\x21-\x7e]+$/.test(name)) return { kind: 'invalid', why: 'server_name is not printable ASCII' };
            return { kind: 'ok', sni: name.toLowerCase(), bytes: 5 + recLen };
          }
          q += nameLen;
        }
        return { kind: 'ok', sni: undefined, bytes: 5 + recLen };
      }
      p += len;
    }
    return { kind: 'ok', sni: undefined, bytes: 5 + recLen };
  } catch {
    return { kind: 'invalid', why: 'truncated ClientHello' };
  }
}
