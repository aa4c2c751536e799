/**
 * `flyme registry resolve NAME` and `flyme registry watch [NAME]`: the registry from the shell, over mutual
 * TLS with the caller's identity (--certs DIR client.pem … or --spiffe-socket URL), the registry checked by
 * its SPIFFE ID (--registry-id). Text: one line per record; with the global --json, JSON (watch: one object
 * per line).
 */
import { isIP } from 'node:net';
import type { Command } from '@commander-js/extra-typings';
import { flymeError } from '../errors.js';
import type { WireRecord, WatchMessage } from '../mesh/snapshot.js';
import { clientSource, registryTarget, type IdentityFlags } from './registry-access.js';
import { onStdoutClosed } from './stdout.js';

const IDENTITY = 'its identity: --certs DIR (client.pem, client.key.pem, root-ca.pem) or --spiffe-socket URL';

/** `name host:port sni=… owner=… expires=…` (IPv6 in brackets). */
export function formatRecord(r: WireRecord): string {
  const host = isIP(r.address) === 6 ? `[${r.address}]` : r.address;
  return `${r.name} ${host}:${r.port} sni=${r.sni} owner=${r.owner} expires=${new Date(Number(r.expires_at) * 1000).toISOString()}`;
}

async function connectRegistry(identity: IdentityFlags, o: { registry: string; registryId: string }) {
  const target = registryTarget(o.registry);
  const [{ registryGrpcClient }, source] = await Promise.all([import('../mesh/snapshot.js'), clientSource(identity)]);
  try {
    const client = await registryGrpcClient({ target, registryId: o.registryId, source });
    return { client, close: () => { client.close(); source.close(); } };
  } catch (err) {
    source.close();
    throw err;
  }
}

/** Adds `resolve` and `watch` to the `registry` command. */
export function addRegistryClientCommands(registry: Command, identity: IdentityFlags, json: () => boolean): void {
  registry.command('resolve').description(`print the live records of NAME (exit 1 with FLYME_NOT_FOUND when none); ${IDENTITY}`)
    .argument('<name>', 'a registered name, e.g. service-b.example.org')
    .requiredOption('--registry <url>', 'the registry: tls://host:port or unix+tls:///path')
    .requiredOption('--registry-id <spiffe-id>', 'the registry\'s SPIFFE ID, checked in its certificate')
    .action(async (name, o) => {
      const [{ callUnary }, conn] = await Promise.all([import('../grpc/call.js'), connectRegistry(identity, o)]);
      try {
        const r = await callUnary<{ records: WireRecord[] }>(conn.client, 'Resolve', { name });
        process.stdout.write(json() ? `${JSON.stringify({ records: r.records })}\n` : `${r.records.map(formatRecord).join('\n')}\n`);
      } finally {
        conn.close();
      }
    });
  registry.command('watch').description(`print the live records (SNAPSHOT), SYNCED, then every change (REGISTERED, DEREGISTERED, EXPIRED) until Ctrl-C; ${IDENTITY}`)
    .argument('[name]', 'only this name (default: every name)')
    .requiredOption('--registry <url>', 'the registry: tls://host:port or unix+tls:///path')
    .requiredOption('--registry-id <spiffe-id>', 'the registry\'s SPIFFE ID, checked in its certificate')
    .action(async (name, o) => {
      const [{ fromGrpcError }, conn] = await Promise.all([import('../grpc/call.js'), connectRegistry(identity, o)]);
      type Stream = import('@grpc/grpc-js').ClientReadableStream<WatchMessage>;
      const call = (conn.client as unknown as { Watch(req: object): Stream }).Watch({ name: name ?? '' });
      const stop = () => { call.cancel(); conn.close(); };
      onStdoutClosed(() => { stop(); process.exit(0); });
      process.on('SIGINT', () => { stop(); process.exit(0); });
      process.on('SIGTERM', () => { stop(); process.exit(0); });
      await new Promise<never>((_, reject) => {
        call.on('data', (m: WatchMessage) => {
          process.stdout.write(json() ? `${JSON.stringify(m.record ? { kind: m.kind, record: m.record } : { kind: m.kind })}\n` : `${m.kind}${m.record ? ` ${formatRecord(m.record)}` : ''}\n`);
        });
        call.on('error', (e: import('@grpc/grpc-js').ServiceError) => { conn.close(); reject(fromGrpcError(e, `registry ${o.registry}`)); });
        call.on('end', () => { conn.close(); reject(flymeError('FLYME_CONNECTION_CLOSED', `registry ${o.registry} ended the watch`)); });
      });
    });
}
