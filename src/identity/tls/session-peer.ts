/**
 * The peer certificate in OpenSSL's encoding of a TLS session: read on the server side (the client's leaf, from
 * the connection's own session) and left out on the client side (see {@link sessionWithoutPeer}).
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

/** Where the `[3]` peer element of an encoded session lies: its tag's offset, the element (its contents: the certificate) and the outer SEQUENCE. */
interface PeerAt { at: number; peer: Element; outer: Element }

/**
 * The `[3]` peer element of an encoded OpenSSL session, `null` when the session is in the expected form and has
 * none, undefined when it is not in the expected form.
 */
function findPeer(session: Uint8Array): PeerAt | null | undefined {
  const outer = element(session, 0, session.length);
  if (!outer || outer.tag !== SEQUENCE || outer.end !== session.length) return undefined;
  const version = element(session, outer.start, outer.end);
  if (!version || version.tag !== INTEGER || version.end - version.start !== 1 || session[version.start] !== 1) return undefined;
  for (let at = version.end; at < outer.end;) {
    const e = element(session, at, outer.end);
    if (!e) return undefined;
    if (e.tag === PEER) {
      const cert = element(session, e.start, e.end);
      return cert && cert.tag === SEQUENCE && cert.end === e.end ? { at, peer: e, outer } : undefined;
    }
    // Context tags come in increasing order: past [3] there is no peer certificate.
    if ((e.tag & 0xc0) === 0x80 && (e.tag & 0x1f) > 3) return null;
    at = e.end;
  }
  return null;
}

/**
 * The DER of the peer certificate in an encoded OpenSSL session (`TLSSocket#getSession()` on the server side),
 * or undefined when the session has none or is not in the expected form.
 */
export function sessionPeerCertificate(session: Uint8Array): Uint8Array | undefined {
  const found = findPeer(session);
  return found ? session.subarray(found.peer.start, found.peer.end) : undefined;
}

/** A DER length's encoding (definite form). */
function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return [0x80 | out.length, ...out];
}

/**
 * An encoded client-side session without the server's certificate: the same SEQUENCE with its `[3]` element
 * left out (every other field, the ticket and the secrets included, byte for byte), or `session` itself when
 * it has no `[3]` or is not in the expected form.
 *
 * Why: resuming a session makes OpenSSL decode it (`d2i_SSL_SESSION` in `TLSSocket#setSession`), and decoding
 * the certificate in it, its public key above all, was nearly all of that: 140 µs of 143 µs per resumed
 * connection here. A TLS 1.3 client has no use for it on resumption (OpenSSL reports no peer certificate then,
 * and Node counts a resumed TLS 1.3 session as verified without one); FlyMe's client verifies the server of a
 * resumed session from the chain it remembered for the ticket (see client.ts), never from the session.
 */
export function sessionWithoutPeer(session: Buffer): Buffer {
  const found = findPeer(session);
  if (!found) return session;
  const { at, peer, outer } = found;
  const bodyLength = outer.end - outer.start - (peer.end - at);
  const head = Buffer.from([SEQUENCE, ...lengthBytes(bodyLength)]);
  return Buffer.concat([head, session.subarray(outer.start, at), session.subarray(peer.end, outer.end)], head.length + bodyLength);
}
