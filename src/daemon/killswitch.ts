/**
 * The kill switch. `kill {reason}` records the reason and caller (audit), pushes a `kill` alert, then
 * locks down: every other connection is closed; new connections and calls get FLYME_LOCKED_DOWN, except
 * admins, who may call `status` and `unlock`. The state survives restarts (a 0600 state file) until `unlock`.
 */
import { readFileSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { SecurityEventSink } from '../auth/events.js';
import { describePrincipal, type Principal } from '../auth/principal.js';
import { flymeError, type FlyMeError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import type { RpcServer } from '../rpc/server.js';

export interface LockdownState {
  lockedDown: boolean;
  since?: string;
  reason?: string;
  by?: Record<string, unknown>;
}

const ALLOWED_IN_LOCKDOWN = new Set(['status', 'unlock']);

export class KillSwitch {
  #state: LockdownState;
  readonly file: string;

  constructor(stateDir: string, private readonly isAdmin: (p: Principal) => boolean) {
    this.file = join(stateDir, 'lockdown.json');
    this.#state = readState(this.file);
  }

  get state(): LockdownState {
    return { ...this.#state };
  }

  /** For RpcServerOptions.admitPrincipal: in lockdown only admins connect. */
  admit(p: Principal): FlyMeError | undefined {
    if (!this.#state.lockedDown || this.isAdmin(p)) return undefined;
    return locked(this.#state);
  }

  /** Before authorize: in lockdown only admins' status and unlock pass. */
  gate(p: Principal, method: string): FlyMeError | undefined {
    if (!this.#state.lockedDown) return undefined;
    if (ALLOWED_IN_LOCKDOWN.has(method) && this.isAdmin(p)) return undefined;
    return locked(this.#state);
  }

  async set(next: LockdownState): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true, mode: 0o750 });
    if (next.lockedDown) {
      await writeFileAtomic(this.file, JSON.stringify(next) + '\n', { mode: 0o600, overwrite: true, dirMode: 0o750 });
    } else {
      await unlink(this.file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    this.#state = next;
  }
}

function locked(s: LockdownState): FlyMeError {
  return flymeError('FLYME_LOCKED_DOWN', `flymed is locked down since ${s.since} (${s.reason}); only admins may call status and unlock`, { since: s.since });
}

/** A state file that cannot be read or parsed means lockdown: fail closed. */
function readState(file: string): LockdownState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lockedDown: false };
    return { lockedDown: true, since: new Date().toISOString(), reason: `lockdown state file unreadable (${(e as NodeJS.ErrnoException).code})` };
  }
  try {
    const s = JSON.parse(text) as LockdownState;
    return { ...s, lockedDown: true };
  } catch {
    return { lockedDown: true, since: new Date().toISOString(), reason: 'lockdown state file corrupt' };
  }
}

export interface KillMethodsOptions {
  events: SecurityEventSink;
  /** Resolves once the audit log has the records so far on disk. */
  flushAudit(): Promise<void>;
}

export function registerKillMethods(server: RpcServer, ks: KillSwitch, o: KillMethodsOptions): void {
  server.method({
    name: 'kill',
    permission: 'kill',
    params: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
    handler: async ({ reason }, ctx) => {
      if (ks.state.lockedDown) return { lockedDown: true, alreadyLockedDown: true, since: ks.state.since };
      const by = describePrincipal(ctx.principal);
      o.events.emit({ kind: 'kill', severity: 'critical', source: 'flymed', message: `kill switch engaged: ${reason}`, principal: by, subject: 'kill', decision: 'allow', reason });
      await o.flushAudit();
      const state: LockdownState = { lockedDown: true, since: new Date().toISOString(), reason, by };
      await ks.set(state);
      for (const c of server.liveConnections) if (c.id !== ctx.connectionId) c.close();
      return { lockedDown: true, since: state.since };
    },
  });
  server.method({
    name: 'unlock',
    permission: 'unlock',
    params: Type.Object({}, { additionalProperties: false }),
    handler: async (_p, ctx) => {
      const was = ks.state;
      if (!was.lockedDown) return { lockedDown: false, wasLockedDown: false };
      await ks.set({ lockedDown: false });
      o.events.emit({ kind: 'unlock', severity: 'warning', source: 'flymed', message: `kill switch released (locked down since ${was.since}: ${was.reason})`, principal: describePrincipal(ctx.principal), subject: 'unlock', decision: 'allow' });
      return { lockedDown: false, wasLockedDown: true, since: was.since };
    },
  });
}
