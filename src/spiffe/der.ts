/** Splitting concatenated DER (the Workload API's `x509_svid` and `bundle` fields) into certificates. */
import { flymeError } from '../errors.js';

/** Splits a concatenation of DER SEQUENCEs; refuses trailing garbage or a truncated element. */
export function splitDer(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < buf.length) {
    if (buf[i] !== 0x30 || i + 2 > buf.length) throw flymeError('FLYME_INVALID_CERTIFICATE', 'not a DER certificate sequence', { offset: i });
    let len = buf[i + 1]!;
    let hdr = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || i + 2 + n > buf.length) throw flymeError('FLYME_INVALID_CERTIFICATE', 'bad DER length', { offset: i });
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + buf[i + 2 + k]!;
      hdr += n;
    }
    if (i + hdr + len > buf.length) throw flymeError('FLYME_INVALID_CERTIFICATE', 'truncated DER certificate', { offset: i });
    out.push(buf.subarray(i, i + hdr + len));
    i += hdr + len;
  }
  return out;
}
