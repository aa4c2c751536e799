/**
 * Policy: who holds which roles (bindings on uid, gid, SPIFFE ID, SPIFFE ID prefix) and what each role
 * may call. Deny by default: a principal without a binding may call only the public methods.
 * The role named `admin` always grants every method.
 *
 * @example
 * const policy = Policy.load('/etc/flyme/policy.yaml')
 * policy.assignRoles(principal)
 * const denied = policy.authorize(principal, 'status', 'status') // FlyMeError | undefined
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { flymeError, type FlyMeError } from '../../errors.js';
import { emptyPrincipal, type Principal } from '../principal.js';
import { MAX_POLICY_BYTES, parsePolicyText } from './parse.js';
import type { Binding, PolicyDocument, TrustedIssuer } from './schema.js';
import { ChannelAcl } from './channels.js';

import { decide, PUBLIC_PERMISSIONS, type DecideOptions, type RoleTable } from '../decision.js';

export { PUBLIC_PERMISSIONS };
export const ADMIN_ROLE = 'admin';

export interface PolicyInfo {
  /** File path, or `builtin` when no policy file is used. */
  source: string;
  version?: string | number;
  /** sha256 of the file bytes (hex). */
  hash: string;
  loadedAt: string;
}

/** Who to evaluate in `explain` (offline: no live connection needed). */
export interface Subject {
  uid?: number;
  gid?: number;
  spiffeId?: string;
}

export interface Explanation {
  method: string;
  allowed: boolean;
  /** Why, in one sentence. */
  reason: string;
  /** Bindings that matched the subject, with the roles they give. */
  matched: Array<{ binding: string; roles: string[] }>;
  /** Roles the subject holds that grant the method. */
  grantingRoles: string[];
  /** Roles in the policy that would grant the method. */
  rolesThatWouldGrant: string[];
}

interface CompiledRole {
  all: boolean;
  permissions: ReadonlySet<string>;
  roots: readonly string[];
}

export class Policy implements RoleTable {
  readonly info: PolicyInfo;
  private readonly roles = new Map<string, CompiledRole>();
  #channels: ChannelAcl | undefined;

  private constructor(readonly document: PolicyDocument, info: PolicyInfo, private readonly labels: (b: Binding) => string = describeBinding) {
    this.info = info;
    for (const [name, r] of Object.entries(document.roles)) {
      this.roles.set(name, { all: name === ADMIN_ROLE || r.methods.includes('*'), permissions: new Set(r.methods), roots: r.list?.roots ?? [] });
    }
    if (!this.roles.has(ADMIN_ROLE)) this.roles.set(ADMIN_ROLE, { all: true, permissions: new Set(), roots: [] });
  }

  /** The policy without a file: uid 0 and the daemon's own uid are admins (and may `list` anything). */
  static builtin(ownUid: number = process.getuid?.() ?? -1): Policy {
    const uids = ownUid >= 0 && ownUid !== 0 ? [0, ownUid] : [0];
    const doc: PolicyDocument = {
      roles: { [ADMIN_ROLE]: { methods: ['*'], list: { roots: ['/'] } } },
      bindings: uids.map((uid) => ({ uid, roles: [ADMIN_ROLE] })),
    };
    const label = (b: Binding) => (b.uid === 0 ? 'uid:0' : `daemon-uid:${b.uid}`);
    return new Policy(doc, { source: 'builtin', hash: 'builtin', loadedAt: new Date().toISOString() }, label);
  }

  static parse(text: string, source: string): Policy {
    const doc = parsePolicyText(text, source);
    const hash = createHash('sha256').update(text).digest('hex');
    return new Policy(doc, { source, ...(doc.version !== undefined ? { version: doc.version } : {}), hash, loadedAt: new Date().toISOString() });
  }

  /** Read and validate a policy file. Throws FLYME_INVALID_CONFIG naming the file, line and field. */
  static load(path: string): Policy {
    let text: string;
    try {
      if (statSync(path).size > MAX_POLICY_BYTES) throw flymeError('FLYME_INVALID_CONFIG', `${path}: larger than ${MAX_POLICY_BYTES} bytes`);
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!code) throw e;
      throw flymeError('FLYME_INVALID_CONFIG', `cannot read policy file ${path}: ${code === 'ENOENT' ? 'no such file' : code}`, { file: path }, e);
    }
    return Policy.parse(text, path);
  }

  /** The pub/sub channel ACL (empty: nobody may publish or subscribe). */
  get channels(): ChannelAcl {
    return (this.#channels ??= new ChannelAcl(this.document.channels ?? []));
  }

  get issuers(): readonly TrustedIssuer[] {
    return this.document.issuers ?? [];
  }

  /** Bindings that match a subject, each with its label (e.g. `uid:1000`). */
  matchingBindings(s: Subject): Array<{ binding: string; roles: string[] }> {
    const out: Array<{ binding: string; roles: string[] }> = [];
    for (const b of this.document.bindings ?? []) {
      const hit = (b.uid !== undefined && b.uid === s.uid)
        || (b.gid !== undefined && b.gid === s.gid)
        || (b.spiffeId !== undefined && b.spiffeId === s.spiffeId)
        || (b.spiffeIdPrefix !== undefined && s.spiffeId !== undefined && s.spiffeId.startsWith(b.spiffeIdPrefix));
      if (hit) out.push({ binding: this.labels(b), roles: b.roles });
    }
    return out;
  }

  /** Add the roles the bindings give this principal (kernel uid/gid and certificate SPIFFE ID). */
  assignRoles(p: Principal): void {
    const subject: Subject = {
      ...(p.peer ? { uid: p.peer.uid, gid: p.peer.gid } : {}),
      ...(p.cert ? { spiffeId: p.cert.spiffeId } : {}),
    };
    for (const { binding, roles } of this.matchingBindings(subject)) {
      for (const r of roles) {
        p.roles.add(r);
        if (!p.roleSources.has(r)) p.roleSources.set(r, binding);
      }
    }
  }

  /** Roles the bindings give a certificate's SPIFFE ID (as `assignRoles` would on a connection). */
  rolesOfSpiffeId(spiffeId: string): string[] {
    return [...new Set(this.matchingBindings({ spiffeId }).flatMap((m) => m.roles))].sort();
  }

  roleGrants(role: string, permission: string): boolean {
    const r = this.roles.get(role);
    return r !== undefined && (r.all || r.permissions.has(permission));
  }

  permits(roles: Iterable<string>, permission: string): boolean {
    if (PUBLIC_PERMISSIONS.has(permission)) return true;
    for (const r of roles) if (this.roleGrants(r, permission)) return true;
    return false;
  }

  /** Roles defined in the policy that grant a permission. */
  rolesGranting(permission: string): string[] {
    return [...this.roles.keys()].filter((r) => this.roleGrants(r, permission)).sort();
  }

  /** The authorization decision over this policy (see auth/decision.ts); the RpcServer authorize hook. */
  readonly authorize = (p: Principal, permission: string, method: string, o?: DecideOptions): FlyMeError | undefined => decide(this, p, permission, method, o);

  /** Holds a role that grants every method. */
  isAdmin(p: Principal): boolean {
    for (const r of p.roles) if (this.roles.get(r)?.all) return true;
    return false;
  }

  /** Every directory any role's `list.roots` names (resolved by the daemon when this policy loads). */
  allListRoots(): string[] {
    return [...new Set([...this.roles.values()].flatMap((r) => r.roots))];
  }

  /** Directories `list` may read for this principal (union over its roles). */
  listRoots(p: Principal): string[] {
    const roots = new Set<string>();
    for (const r of p.roles) for (const root of this.roles.get(r)?.roots ?? []) roots.add(root);
    return [...roots];
  }

  /** Which binding and role grant a method to a subject, or what is missing. */
  explain(method: string, s: Subject): Explanation {
    const matched = this.matchingBindings(s);
    const held = new Set(matched.flatMap((m) => m.roles));
    const grantingRoles = [...held].filter((r) => this.roleGrants(r, method)).sort();
    const rolesThatWouldGrant = this.rolesGranting(method);
    const pub = PUBLIC_PERMISSIONS.has(method);
    // The very decision the servers make, on a principal built from the subject the way they build it.
    const p = emptyPrincipal('explain');
    if (s.uid !== undefined || s.gid !== undefined) p.peer = { uid: s.uid ?? -1, gid: s.gid ?? -1 };
    if (s.spiffeId !== undefined) p.cert = { spiffeId: s.spiffeId, serial: '', notAfter: '', thumbprint: '' };
    this.assignRoles(p);
    const allowed = decide(this, p, method, method) === undefined;
    const reason = pub ? `${method} is public: every identified peer may call it`
      : allowed ? `granted by role ${grantingRoles.join(', ')} via ${matched.filter((m) => m.roles.some((r) => grantingRoles.includes(r))).map((m) => m.binding).join(', ')}`
      : matched.length === 0 ? `no binding matches this subject; a binding to one of [${rolesThatWouldGrant.join(', ') || 'no role grants it'}] is missing`
      : `the subject holds ${[...held].sort().join(', ')}, none of which grants ${method}; it needs one of [${rolesThatWouldGrant.join(', ') || 'no role grants it'}]`;
    return { method, allowed, reason, matched, grantingRoles, rolesThatWouldGrant };
  }
}

function describeBinding(b: Binding): string {
  if (b.uid !== undefined) return `uid:${b.uid}`;
  if (b.gid !== undefined) return `gid:${b.gid}`;
  if (b.spiffeId !== undefined) return `spiffe-id:${b.spiffeId}`;
  return `spiffe-prefix:${b.spiffeIdPrefix}`;
}
