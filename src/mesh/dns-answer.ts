/**
 * One DNS query in, at most one bounded answer out (dns-packet for the wire format). The registry's zone is
 * answered authoritatively: A/AAAA/SRV/TXT for live names, NXDOMAIN (with the zone's SOA) for unknown names,
 * NODATA (SOA) for other types; names outside the zone are REFUSED. Nothing is ever answered to a response
 * packet, to a packet shorter than a header or to one longer than MAX_QUERY_BYTES; undecodable queries get a
 * bare FORMERR header. An answer never exceeds what the transport allows (UDP: 512 bytes, or the client's
 * EDNS size up to MAX_UDP_ANSWER_BYTES); a larger one is sent truncated (TC bit, question only) so the client
 * retries over TCP.
 */
import { isIP } from 'node:net';
import * as dns from 'dns-packet';
import { canonicalName, inZone } from './names.js';
import type { RegistryRecord } from './registry.js';

/** Largest query accepted (a real query is well under 300 bytes). */
export const MAX_QUERY_BYTES = 512;
/** Largest UDP answer, whatever EDNS asks (the DNS flag day 2020 size: no fragmentation). */
export const MAX_UDP_ANSWER_BYTES = 1232;
const CLASSIC_UDP_BYTES = 512;
const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const SOA_TTL = 5;

export interface ZoneView {
  zone: string;
  /** Live records of a canonical name. */
  lookup(name: string): RegistryRecord[];
  /** Longest TTL given out (the registry's TTL). */
  maxTtl: number;
}

/** The bare header answer (no sections): for undecodable queries. */
function bareHeader(query: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(query.readUInt16BE(0), 0);
  out.writeUInt16BE(0x8000 | (query.readUInt16BE(2) & 0x7800) | (query.readUInt16BE(2) & 0x0100) | rcode, 2); // QR, opcode, RD
  return out;
}

const soa = (zone: string): dns.Answer => ({
  type: 'SOA', name: zone, ttl: SOA_TTL, class: 'IN',
  data: { mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 60, retry: 30, expire: 600, minimum: SOA_TTL },
});

/**
 * The question's name as sent is plain labels: no compression pointer (or reserved label type), each label of
 * printable ASCII other than `.`. A decoder joins labels with dots, so a label holding a dot (`service-b.example`
 * + `org`) read as a different name and was answered for it, and bytes beyond ASCII came back re-encoded as an
 * undecodable reply: such questions are FORMERR (every name in the zone is a hostname).
 */
function plainQname(query: Buffer): boolean {
  for (let i = 12; ;) {
    const len = query[i];
    if (len === undefined || len > 63) return false;
    if (len === 0) return true;
    for (let j = i + 1; j <= i + len; j++) {
      const b = query[j];
      if (b === undefined || b <= 0x20 || b >= 0x7f || b === 0x2e) return false;
    }
    i += 1 + len;
  }
}

/**
 * @param transport `udp` bounds the answer by the datagram size; `tcp` by the 2-byte frame.
 * @returns the answer to send, or undefined to send nothing.
 */
export function answerQuery(query: Buffer, view: ZoneView, transport: 'udp' | 'tcp', now = Date.now()): Buffer | undefined {
  if (query.length < 12 || query.length > MAX_QUERY_BYTES) return undefined;
  if (query[2]! & 0x80) return undefined; // a response: never answer it (no reflection loops)
  let q: dns.DecodedPacket;
  try {
    q = dns.decode(query);
  } catch {
    return bareHeader(query, RCODE.FORMERR);
  }
  if (((q.flags ?? 0) >> 11) & 0xf) return bareHeader(query, RCODE.NOTIMP); // only QUERY
  const questions = q.questions ?? [];
  if (questions.length !== 1 || (q.answers?.length ?? 0) > 0) return bareHeader(query, RCODE.FORMERR);
  const question = questions[0]!;
  if (!plainQname(query)) return bareHeader(query, RCODE.FORMERR);
  const opt = (q.additionals ?? []).find((a): a is dns.OptAnswer => a.type === 'OPT');
  const ednsVersion = (opt as { ednsVersion?: number } | undefined)?.ednsVersion ?? 0;
  if (opt && ednsVersion !== 0) {
    // RFC 6891 6.1.3: only EDNS version 0 is spoken; BADVERS (16) is the OPT's extended RCODE 1 over header 0.
    return dns.encode({
      type: 'response', id: q.id ?? 0, flags: (q.flags ?? 0) & dns.RECURSION_DESIRED, questions: [question],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP_ANSWER_BYTES, extendedRcode: 1, ednsVersion: 0, flags: 0, options: [] } as unknown as dns.Answer],
    });
  }
  const limit = transport === 'tcp' ? 65535 : Math.min(MAX_UDP_ANSWER_BYTES, Math.max(CLASSIC_UDP_BYTES, opt?.udpPayloadSize ?? CLASSIC_UDP_BYTES));
  const additionals: dns.Answer[] = opt ? [{ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP_ANSWER_BYTES, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as dns.Answer] : [];
  const reply = (rcode: number, answers: dns.Answer[] = [], authorities: dns.Answer[] = [], aa = true): Buffer => {
    const flags = (aa ? dns.AUTHORITATIVE_ANSWER : 0) | ((q.flags ?? 0) & dns.RECURSION_DESIRED) | rcode;
    const full = dns.encode({ type: 'response', id: q.id ?? 0, flags, questions: [question], answers, authorities, additionals });
    if (full.length <= limit) return full;
    return dns.encode({ type: 'response', id: q.id ?? 0, flags: flags | dns.TRUNCATED_RESPONSE, questions: [question], additionals });
  };
  const zone = view.zone;
  const name = canonicalName(question.name);
  if (question.class !== 'IN' || !inZone(name, zone)) return reply(RCODE.REFUSED, [], [], false);
  if (name === zone) return question.type === 'SOA' ? reply(RCODE.NOERROR, [soa(zone)]) : reply(RCODE.NOERROR, [], [soa(zone)]);
  const records = view.lookup(name);
  if (records.length === 0) return reply(RCODE.NXDOMAIN, [], [soa(zone)]);
  const ttl = (r: RegistryRecord) => Math.max(1, Math.min(view.maxTtl, Math.floor((r.expiresAt - now) / 1000)));
  const answers: dns.Answer[] = [];
  const seen = new Set<string>();
  const once = (key: string) => !seen.has(key) && seen.add(key) !== undefined;
  for (const r of records) {
    const base = { name: question.name, class: 'IN' as const, ttl: ttl(r) };
    if (question.type === 'A' && isIP(r.address) === 4 && once(r.address)) answers.push({ ...base, type: 'A', data: r.address });
    else if (question.type === 'AAAA' && isIP(r.address) === 6 && once(r.address)) answers.push({ ...base, type: 'AAAA', data: r.address });
    else if (question.type === 'SRV' && once(String(r.port))) answers.push({ ...base, type: 'SRV', data: { priority: 0, weight: 1, port: r.port, target: r.name } });
    else if (question.type === 'TXT') {
      if (once(`o ${r.owner}`)) answers.push({ ...base, type: 'TXT', data: [`spiffe-id=${r.owner}`] });
      if (once(`s ${r.sni}`)) answers.push({ ...base, type: 'TXT', data: [`sni=${r.sni}`] });
    }
  }
  return answers.length ? reply(RCODE.NOERROR, answers) : reply(RCODE.NOERROR, [], [soa(zone)]);
}
