/**
 * The server interceptor: before any handler runs, the caller's certificate is verified (SPIFFE ID +
 * authorizer), an optional bearer token is verified, roles are decided by the server (token roles from a
 * trusted issuer ∩ the role config, plus roles bound to the SPIFFE ID), and the method's required roles
 * are checked. Methods not in the map are denied unless listed as public. The handler reads the result
 * with `principalOf(call)`. Allowed decisions are remembered per connection (decision-memo.ts); the
 * certificate refusal and the token are checked on every call before a remembered one is used.
 */
import * as grpc from '@grpc/grpc-js';
import { describePrincipal, emptyPrincipal, type PeerIdentity, type Principal } from '../auth/principal.js';
import { ignoreSecurityEvents, type SecurityEventSink } from '../auth/events.js';
import { copyIdentity, type SharedTokenIdentity, type TokenVerifier } from '../auth/jwt/verifier.js';
import type { RoleConfig } from '../auth/role-config.js';
import { FlyMeError, flymeError } from '../errors.js';
import { decide as decideAccess, type RoleTable } from '../auth/decision.js';
import type { Policy } from '../auth/policy/policy.js';
import { policyGetter } from '../auth/policy/getter.js';
import { DecisionMemo } from './decision-memo.js';
import type { ConnectionIdentity, PeerRegistry } from './peers.js';
import type { PeerCertificateInfo } from '../transport/listener.js';
import { PRINCIPAL_KEY } from './principal.js';
import { AuthorizingCall, forwardMissingMethods, type Admit } from './authorizing-call.js';

forwardMissingMethods(grpc.ServerInterceptingCall.prototype);

export interface MethodRoles {
  /** `'/pkg.Service/Method'` → roles, any one of which allows the call. */
  [path: string]: readonly string[];
}

export interface AuthInterceptorOptions {
  /** The connections FlyMe accepted and verified (see createSecureServer / createLocalServer). */
  peers: Pick<PeerRegistry, 'lookup'>;
  /** Method path → roles. Either this or `policy` (or both: a role granted by either allows the call). */
  methods?: MethodRoles;
  /**
   * The policy flymed uses (a `Policy`, or a getter such as `() => store.current` that follows reloads): its
   * bindings give roles to SPIFFE IDs (and uids on local servers), and a role grants a method when the role's
   * `methods` list names its path (`/pkg.Service/Method`) or `*`. The decision is auth/decision.ts, as in flymed.
   */
  policy?: Policy | (() => Policy);
  /** Methods callable by any authenticated peer (e.g. health checks). */
  publicMethods?: readonly string[];
  /** Methods callable on a TLS connection that presented no client certificate at all (never with a bad one). */
  unauthenticatedMethods?: readonly string[];
  /** Connections arrive over plain Unix sockets: the kernel credentials are the identity (no certificate). */
  local?: boolean;
  /** Roles held by a Unix-socket peer, from its kernel credentials (e.g. uid 0 → an admin role). */
  peerRoles?(peer: PeerIdentity): readonly string[];
  /** Verify `authorization: Bearer` tokens; when set, calls without a token are UNAUTHENTICATED. */
  tokens?: TokenVerifier;
  /** Token roles allowed per issuer/subject (claimed ∩ allowed). Without it, a trusted issuer's roles are taken as claimed. */
  tokenRoles?: RoleConfig;
  /** Roles held by a SPIFFE ID (certificate identity). */
  idRoles?: Readonly<Record<string, readonly string[]>>;
  events?: SecurityEventSink;
  transport?: string;
}

type StatusObject = Parameters<grpc.ServerInterceptingCallInterface['sendStatus']>[0];

function status(code: grpc.status, details: string): StatusObject {
  return { code, details, metadata: new grpc.Metadata() };
}

/** The method map as a role table: a role grants a path when the map lists it for that path. */
function methodTable(methods: MethodRoles): RoleTable {
  return {
    roleGrants: (role, path) => methods[path]?.includes(role) ?? false,
    rolesGranting: (path) => [...(methods[path] ?? [])].sort(),
  };
}

/** A frozen copy of a path/ID → roles map (own entries only, arrays copied). */
function copyRoleMap(map: Readonly<Record<string, readonly string[]>> | undefined): Readonly<Record<string, readonly string[]>> {
  const out: Record<string, readonly string[]> = Object.create(null) as Record<string, readonly string[]>;
  for (const [k, v] of Object.entries(map ?? {})) out[k] = Object.freeze([...v]);
  return Object.freeze(out);
}

/** Either table granting is enough. */
function eitherTable(a: RoleTable, b: RoleTable): RoleTable {
  return {
    roleGrants: (role, path) => a.roleGrants(role, path) || b.roleGrants(role, path),
    rolesGranting: (path) => [...new Set([...a.rolesGranting(path), ...b.rolesGranting(path)])].sort(),
  };
}

/**
 * An `events` option must be a SecurityEventSink (an object with `emit(event)`). Checked when the server is
 * built: a sink of the wrong shape found only at the first refusal would turn that denial into INTERNAL.
 */
export function checkEventSink(events: unknown): asserts events is SecurityEventSink | undefined {
  if (events === undefined) return;
  if (typeof events !== 'object' || events === null || typeof (events as { emit?: unknown }).emit !== 'function') {
    throw flymeError('FLYME_INVALID_CONFIG', 'events must be a SecurityEventSink: an object with an emit(event) method, e.g. { emit: (e) => console.warn(e.kind, e.message) }');
  }
}

export function authInterceptor(o: AuthInterceptorOptions): grpc.ServerInterceptor {
  checkEventSink(o.events);
  const events = o.events ?? ignoreSecurityEvents;
  const publicSet = new Set(o.publicMethods ?? []);
  const policyOf = policyGetter(o.policy);
  // The maps are copied when the interceptor is built: a decision remembered for a connection (decision-memo.ts)
  // must not outlive a change made to them afterwards, so later changes to the objects passed in are not seen.
  const methodRoles = methodTable(copyRoleMap(o.methods));
  const idRoles = copyRoleMap(o.idRoles);
  const memo = new DecisionMemo();
  const anonymousSet = new Set(o.unauthenticatedMethods ?? []);
  const report = (kind: 'unauthenticated' | 'denied' | 'token_refused', path: string, p: Principal, e: { code?: string; message: string }) => {
    events.emit({ kind, severity: 'warning', source: 'grpc', message: e.message, principal: describePrincipal(p), subject: path, decision: 'deny', ...(e.code ? { reason: e.code } : {}) });
  };

  type Outcome = { principalJson: string } | { status: StatusObject };
  const allow = (p: Principal): Outcome => ({ principalJson: JSON.stringify(describePrincipal(p)) });
  // A fresh principal for a call, with the connection's kernel credentials (only built when a call is decided in
  // full or refused: a remembered decision already holds the principal's JSON).
  const freshPrincipal = (conn: ConnectionIdentity | undefined): Principal => {
    const p = emptyPrincipal(o.transport ?? 'grpc');
    if (conn?.peer) p.peer = conn.peer;
    return p;
  };
  // Roles from the certificate: SPIFFE ID roles, then the policy's bindings (the first source of a role is kept).
  const certRoles = (p: Principal, cert: CertView['cert'], policy: Policy | undefined): void => {
    p.cert = cert;
    for (const r of idRoles[cert.spiffeId] ?? []) {
      p.roles.add(r);
      if (!p.roleSources.has(r)) p.roleSources.set(r, `spiffe-id:${cert.spiffeId}`);
    }
    policy?.assignRoles(p);
  };

  /**
   * Decides one call. Synchronous (the token check is TokenVerifier.checkNow), so an allowed call goes on in the
   * tick its metadata arrived; every check below runs on every call, a remembered decision only skips the role
   * assignment and the decision itself.
   */
  function decide(path: string, call: Pick<grpc.ServerInterceptingCallInterface, 'getPeer'>, metadata: grpc.Metadata): Outcome {
    // The certificate was verified (chain, SVID rules, client authorizer) before grpc-js saw the connection.
    const conn = o.peers.lookup(call.getPeer());
    if (conn?.refusal?.data.reason === 'no-certificate' && anonymousSet.has(path)) return allow(freshPrincipal(conn));
    if (conn?.refusal?.code === 'FLYME_ID_NOT_AUTHORIZED') {
      report('denied', path, freshPrincipal(conn), conn.refusal);
      return { status: status(grpc.status.PERMISSION_DENIED, conn.refusal.message) };
    }
    const policy = policyOf?.();
    if (o.local) {
      const p = freshPrincipal(conn);
      if (!conn?.peer) {
        report('unauthenticated', path, p, { code: 'FLYME_UNAUTHENTICATED', message: 'no kernel credentials for this connection' });
        return { status: status(grpc.status.UNAUTHENTICATED, 'the caller could not be identified by the kernel') };
      }
      for (const r of o.peerRoles?.(conn.peer) ?? []) {
        p.roles.add(r);
        if (!p.roleSources.has(r)) p.roleSources.set(r, `uid:${conn.peer.uid}`);
      }
      policy?.assignRoles(p);
      return authorizeMethod(path, p, policy);
    }
    if (!conn?.cert) {
      const why = conn?.refusal?.message ?? 'the call did not arrive on a connection FlyMe verified';
      report('unauthenticated', path, freshPrincipal(conn), { code: conn?.refusal?.code ?? 'FLYME_UNAUTHENTICATED', message: why });
      return { status: status(grpc.status.UNAUTHENTICATED, `no verified client certificate: ${why}`) };
    }
    const c = certView(conn.cert);
    let token: string | undefined;
    let verified: SharedTokenIdentity | undefined;
    if (o.tokens) {
      const header = metadata.get('authorization')[0];
      token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
      if (!token) {
        const p = freshPrincipal(conn);
        certRoles(p, c.cert, policy);
        report('unauthenticated', path, p, { code: 'FLYME_UNAUTHENTICATED', message: 'no bearer token' });
        return { status: status(grpc.status.UNAUTHENTICATED, 'a bearer token is required (authorization: Bearer <jwt>)') };
      }
      try {
        // Every call: a token binds to the first client certificate that presents it (a stolen token is useless
        // elsewhere), and expiry, the key in the JWKS and replay are checked before any remembered decision is used.
        verified = o.tokens.checkNow(token, { connectionId: c.connectionId, clientCertDer: c.der });
      } catch (e) {
        const err = e as FlyMeError;
        const p = freshPrincipal(conn);
        certRoles(p, c.cert, policy);
        report('token_refused', path, p, err);
        return { status: status(grpc.status.UNAUTHENTICATED, `token refused: ${err.code ?? 'FLYME_TOKEN_INVALID'}: ${err.message}`) };
      }
    }
    const inputs = { token, policy, rolesVersion: o.tokenRoles?.version ?? 0 };
    const remembered = memo.get(conn, path, inputs);
    if (remembered !== undefined) return { principalJson: remembered };
    const p = freshPrincipal(conn);
    certRoles(p, c.cert, policy);
    if (verified) {
      const id = copyIdentity(verified);
      p.token = id;
      const granted = o.tokenRoles ? o.tokenRoles.grantedRoles(id.claimedRoles, id.iss, id.sub).granted : id.claimedRoles;
      for (const r of granted) {
        p.roles.add(r);
        if (!p.roleSources.has(r)) p.roleSources.set(r, `token:${id.iss}/${id.sub}`);
      }
    }
    const outcome = authorizeMethod(path, p, policy);
    if ('principalJson' in outcome) memo.set(conn, path, inputs, outcome.principalJson);
    return outcome;
  }

  // The role table of this call: the method map, joined with the policy in force (rebuilt only when it changes).
  let joined: { policy: Policy; table: RoleTable } | undefined;
  const tableOf = (policy: Policy | undefined): RoleTable => {
    if (!policy) return methodRoles;
    if (joined?.policy !== policy) joined = { policy, table: eitherTable(methodRoles, policy) };
    return joined.table;
  };

  function authorizeMethod(path: string, p: Principal, policy: Policy | undefined): Outcome {
    const table = tableOf(policy);
    // The same decision flymed makes (auth/decision.ts); the token was verified for this very call.
    const denied = decideAccess(table, p, path, path, { publicPermissions: publicSet });
    if (!denied) return allow(p);
    const needed = table.rolesGranting(path);
    if (needed.length === 0) {
      report('denied', path, p, { code: 'FLYME_PERMISSION_DENIED', message: `${path} is not in the method role map (deny by default)` });
      return { status: status(grpc.status.PERMISSION_DENIED, `${path} is not allowed for anyone (not in the method role map or the policy)`) };
    }
    const id = p.cert?.spiffeId ?? (p.peer ? `uid ${p.peer.uid}` : 'the caller');
    const who = p.token ? `${id} (token sub ${p.token.sub})` : id;
    report('denied', path, p, { code: 'FLYME_PERMISSION_DENIED', message: `${who} lacks a role for ${path} (needs one of ${needed.join(', ')})` });
    return { status: status(grpc.status.PERMISSION_DENIED, `${path} needs one of the roles [${needed.join(', ')}]; the caller holds [${[...p.roles].sort().join(', ')}]`) };
  }

  // Called when a call's metadata arrives (authorizing-call.ts): true lets the call go on with the principal
  // attached; otherwise the refusal has been sent and the handler never sees the call.
  const admit: Admit = (path, call, metadata) => {
    metadata.remove(PRINCIPAL_KEY); // never trust a principal sent by the client
    let d: Outcome;
    try {
      d = decide(path, call, metadata);
    } catch (e) {
      call.sendStatus(status(grpc.status.INTERNAL, `authorization failed: ${(e as Error)?.message ?? String(e)}`));
      return false;
    }
    if ('status' in d) {
      call.sendStatus(d.status);
      return false;
    }
    metadata.set(PRINCIPAL_KEY, Buffer.from(d.principalJson));
    return true;
  };
  // grpc-js types an interceptor as returning its own ServerInterceptingCall class; it uses only the
  // ServerInterceptingCallInterface methods, which AuthorizingCall implements (and forwards any it lacks).
  return (descriptor, call) => new AuthorizingCall(call, descriptor.path, admit) as unknown as grpc.ServerInterceptingCall;
}

/** A verified client certificate as the interceptor uses it: without its DER, the DER, and its replay-cache connection id. */
interface CertView {
  cert: Omit<PeerCertificateInfo, 'der'>;
  der: PeerCertificateInfo['der'];
  connectionId: string;
}

// Built once per certificate object (a connection's certificate never changes; the entry goes with it).
const certViews = new WeakMap<PeerCertificateInfo, CertView>();

function certView(info: PeerCertificateInfo): CertView {
  let v = certViews.get(info);
  if (v === undefined) {
    const { der, ...cert } = info;
    v = { cert, der, connectionId: `cert:${info.thumbprint}` };
    certViews.set(info, v);
  }
  return v;
}
