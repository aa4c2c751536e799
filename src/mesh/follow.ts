/**
 * Keeps a RouteTable in step with a registry's Watch stream over mutual TLS; when the stream breaks the
 * table is emptied (routes unknown) and the watch is retried with backoff (250 ms doubling to 5 s).
 */
import * as grpc from '@grpc/grpc-js';
import type { X509Source } from '../identity/source/types.js';
import type { RouteTable } from './router.js';
import { registryGrpcClient } from './snapshot.js';

export interface FollowOptions {
  /** `host:port` or `unix:///path`. */
  target: string;
  /** The registry's SPIFFE ID (checked in its certificate). */
  registryId: string;
  source: X509Source;
  table: RouteTable;
  onState?(state: 'synced' | 'lost', detail?: string): void;
}

type WatchMsg = { kind: string; record?: { name: string; sni: string; address: string; port: number; owner: string } };

export async function followRegistry(o: FollowOptions): Promise<{ close(): void }> {
  const client = await registryGrpcClient(o);
  let call: grpc.ClientReadableStream<WatchMsg> | undefined;
  let closed = false;
  let delay = 250;
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    if (closed) return;
    call = (client as unknown as { Watch(req: object): grpc.ClientReadableStream<WatchMsg> }).Watch({});
    call.on('data', (m: WatchMsg) => {
      o.table.apply(m.kind, m.record);
      if (m.kind === 'SYNCED') { delay = 250; o.onState?.('synced'); }
    });
    const lost = (detail: string) => {
      if (closed || !call) return;
      call = undefined;
      o.table.reset();
      o.onState?.('lost', detail);
      timer = setTimeout(start, delay);
      delay = Math.min(delay * 2, 5000);
    };
    call.on('error', (e: grpc.ServiceError) => lost(e.details || e.message));
    call.on('end', () => lost('stream ended'));
  };
  start();
  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
      call?.cancel();
      client.close();
    },
  };
}
