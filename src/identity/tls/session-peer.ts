/**
 * The client certificate of a server-side TLS connection, read from the connection's own session.
 *
 * A server verifying its client on a full handshake needs the DER of the leaf the client presented. Node has
 * three ways to it, none cheap and harmless at once: `getPeerCertificate(false)` describes the leaf (names, three
 * fingerprints, the public key as an uncompressed point: ~400 000 instructions, about half of all the work
 * FlyMe adds to a server's full handshake); `getPeerX509Certificate()` is cheap but, when the client also sent
 * intermediates, takes them out of OpenSSL's peer chain as it reads them (and never frees them), so every later
 * reader misses them. `getSession()` is cheap (~3 µs) and leaves the connection alone: it is OpenSSL's
 * encoding of the session, which holds the peer's leaf as it arrived (OpenSSL's `SSL_SESSION_ASN1`:
 * `SEQUENCE { version INTEGER (1), sslVersion INTEGER, cipher OCTET STRING, sessionId OCTET STRING, masterKey
 * OCTET STRING, [1] time, [2] timeout, [3] EXPLICIT peer Certificate, [4] sidCtx, ... }`).
 *
 * Only the outer structure is walked, by lengths, never the certificate's contents, so nothing a client puts in
 * its certificate can steer the walk. Anything unexpected (another version, a malformed length, no `[3]`)
 * returns undefined and the caller reads the certificate the usual way.
 */

/** A DER element: its tag, where its contents start and end. */
interface Element { tag: number; start: number; end: number }

/** The element at `at`, within `limit`; undefined when it is malformed or does not fit. */
function element(der: Uint8Array, at: number, limit: number): Element | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // high tag numbers do not occur here
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > limit) return undefined; // indefinite or > 16 MiB: not a session
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + der[start + k]!;
    start += n;
  }
  const end = start + len;
  return end <= limit ? { tag, start, end } : undefined;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
/** `[3]` constructed: the peer certificate. */
const PEER = 0xa3;

/**
 * The DER of the peer certificate in an encoded OpenSSL session (`TLSSocket#getSession()` on the server side),
 * or undefined when the session has none or is not in the expected form.
 */
export function sessionPeerCertificate(session: Uint8Array): Uint8Array | undefined {
  const outer = element(session, 0, session.length);
  if (!outer || outer.tag !== SEQUENCE) return undefined;
  const version = element(session, outer.start, outer.end);
  if (!version || version.tag !== INTEGER || version.end - version.start !== 1 || session[version.start] !== 1) return undefined;
  for (let at = version.end; at < outer.end;) {
    const e = element(session, at, outer.end);
    if (!e) return undefined;
    if (e.tag === PEER) {
      const cert = element(session, e.start, e.end);
      return cert && cert.tag === SEQUENCE && cert.end === e.end ? session.subarray(e.start, e.end) : undefined;
    }
    // Context tags come in increasing order: past [3] there is no peer certificate.
    if ((e.tag & 0xc0) === 0x80 && (e.tag & 0x1f) > 3) return undefined;
    at = e.end;
  }
  return undefined;
}
