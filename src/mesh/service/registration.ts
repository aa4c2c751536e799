/**
 * The service's own registration: register {name, address, port} once (a refusal is returned to the caller,
 * which exits), renew every ttl/3, register again when a renewal is answered NOT_FOUND (the record expired,
 * e.g. the registry was unreachable for a while), deregister on stop.
 */
import { FlyMeError } from '../../errors.js';
import type { RegistryClient, RemoteRecord } from '../registry-client.js';

export interface Registration {
  /** The record as the registry last confirmed it. */
  readonly record: RemoteRecord;
  readonly ttlSeconds: number;
  /** Stops renewing and deregisters (errors are reported, not thrown). */
  stop(): Promise<void>;
}

export interface RegistrationEvents {
  renewed?(r: RemoteRecord): void;
  reregistered?(r: RemoteRecord): void;
  /** A renewal or re-registration failed; it is tried again at the next tick. */
  failed?(err: FlyMeError | Error): void;
}

export async function keepRegistered(client: RegistryClient, want: { name: string; address: string; port: number }, ev: RegistrationEvents = {}): Promise<Registration> {
  let { record, ttlSeconds } = await client.register(want);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      ({ record, ttlSeconds } = await client.renew(want));
      ev.renewed?.(record);
    } catch (err) {
      if (stopped) return;
      if (err instanceof FlyMeError && err.code === 'FLYME_NOT_FOUND') {
        try {
          ({ record, ttlSeconds } = await client.register(want));
          ev.reregistered?.(record);
        } catch (again) {
          ev.failed?.(again as Error);
        }
      } else {
        ev.failed?.(err as Error);
      }
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => { inFlight = tick().finally(schedule); }, Math.max(200, (ttlSeconds * 1000) / 3));
  };
  schedule();
  return {
    get record() { return record; },
    get ttlSeconds() { return ttlSeconds; },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      try {
        await client.deregister(want);
      } catch (err) {
        ev.failed?.(err as Error);
      }
    },
  };
}
