/**
 * The daemon's `authenticate {token}` method: a verified JWT from a trusted issuer adds the token's
 * subject and the roles the server's role map grants it (claimed ∩ granted) to the connection's principal.
 */
import { readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { describePrincipal } from '../auth/principal.js';
import { JwksFileSource, RoleConfig, TokenVerifier, ReplayCache } from '../auth/index.js';
import { flymeError } from '../errors.js';
import type { RpcServer, ServerLogger } from '../rpc/server.js';

export interface DaemonTokenOptions {
  jwksPath: string;
  issuer: string;
  audience: string;
  rolesPath?: string;
}

export async function registerAuthenticate(server: RpcServer, opts: DaemonTokenOptions, log: ServerLogger): Promise<() => void> {
  const keys = await JwksFileSource.open(opts.jwksPath, {
    algorithms: ['ES256', 'EdDSA'],
    onReload: (kids) => log.info({ event: 'jwks_reloaded', kids }, 'token keys reloaded'),
    onInvalid: (e) => log.error({ event: 'jwks_reload_failed', code: e.code }, `token keys reload refused, keeping the old set: ${e.message}`),
  });
  const roles = opts.rolesPath ? RoleConfig.fromObject(JSON.parse(readFileSync(opts.rolesPath, 'utf8'))) : RoleConfig.fromObject({});
  const verifier = new TokenVerifier({ keys, audience: opts.audience, issuer: opts.issuer, replayCache: new ReplayCache() });
  const instance = `${process.pid}-${Date.now()}`;
  server.method({
    name: 'authenticate',
    permission: 'authenticate',
    params: Type.Object({ token: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: false }),
    handler: async ({ token }, ctx) => {
      const p = ctx.principal;
      if (p.token) throw flymeError('FLYME_INVALID_REQUEST', 'this connection already presented a token; open a new connection for another');
      const v = await verifier.verify(token, {
        connectionId: `${instance}-${ctx.connectionId}`,
        ...(ctx.clientCertDer ? { clientCertDer: ctx.clientCertDer } : {}),
      });
      const { granted, ignored } = roles.grantedRoles(v.identity.claimedRoles, v.identity.iss, v.identity.sub);
      if (ignored.length > 0) log.warn({ event: 'roles_ignored', iss: v.identity.iss, sub: v.identity.sub, ignored }, 'token claimed roles the role map does not grant; ignored');
      p.token = v.identity;
      for (const r of granted) {
        p.roles.add(r);
        if (!p.roleSources.has(r)) p.roleSources.set(r, `token:${v.identity.iss}/${v.identity.sub}`);
      }
      log.info({ event: 'authenticated', sub: v.identity.sub, iss: v.identity.iss, roles: granted }, 'token accepted');
      return describePrincipal(p);
    },
  });
  return () => keys.close();
}
