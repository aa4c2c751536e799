/**
 * Client side: channel credentials that check the server's SPIFFE ID, composed with bearer-token call
 * credentials. `SecureGrpcClientBuilder` is the IntelliRouter-style convenience on top.
 *
 * @example
 * const client = await new SecureGrpcClientBuilder()
 *   .withTls('/etc/flyme/certs', 'spiffe://flyme.local/greeter')
 *   .withJwt(issuer, 'svc-a', ['greeter.read'], { audience: 'greeter' })
 *   .build('unix:///run/greeter.sock', GreeterClient)
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { TokenIssuer } from '../auth/jwt/issuer.js';
import { flymeError } from '../errors.js';
import { authorizeId, type Authorizer } from '../identity/authorizer.js';
import type { X509Source } from '../identity/source/types.js';
import { channelCredentials, tokenCallCredentials, type IdentityFiles, type TokenProvider } from './credentials.js';

/** `flyme certs` directory → the client's files. */
export function clientFiles(certsDir: string, name = 'client'): IdentityFiles {
  return { certPath: join(certsDir, `${name}.pem`), keyPath: join(certsDir, `${name}.key.pem`), caPath: join(certsDir, 'root-ca.pem') };
}

type ClientCtor<T> = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => T;

export class SecureGrpcClientBuilder {
  #identity: IdentityFiles | X509Source | undefined;
  #server: Authorizer | undefined;
  #tokens: TokenProvider | undefined;

  /**
   * mTLS with an identity source (e.g. the Workload API), a certs dir (client.pem, client.key.pem, root-ca.pem)
   * or explicit files; the server must prove `serverId`.
   */
  withTls(identity: string | IdentityFiles | X509Source, serverId: string | Authorizer): this {
    this.#identity = typeof identity === 'string' ? clientFiles(identity) : identity;
    this.#server = typeof serverId === 'string' ? authorizeId(serverId) : serverId;
    return this;
  }

  /** Attach tokens minted by `issuer` for `subject` with `roles` (refreshed before they expire). */
  withJwt(issuer: TokenIssuer, subject: string, roles: readonly string[], o: { audience: string; ttlSeconds?: number }): this {
    const ttl = o.ttlSeconds ?? 300;
    this.#tokens = async () => ({ token: await issuer.issue({ sub: subject, aud: o.audience, roles, ttlSeconds: ttl }), exp: Math.floor(Date.now() / 1000) + ttl });
    return this;
  }

  /** Attach tokens from any source (a fixed token, a token service …). */
  withToken(provider: TokenProvider): this {
    this.#tokens = provider;
    return this;
  }

  async credentials(): Promise<grpc.ChannelCredentials> {
    if (!this.#identity || !this.#server) throw flymeError('FLYME_INVALID_CONFIG', 'call withTls(certs, serverId) first: FlyMe gRPC clients always use mutual TLS');
    const channel = await channelCredentials(this.#identity, this.#server);
    return this.#tokens ? grpc.credentials.combineChannelCredentials(channel, tokenCallCredentials(this.#tokens)) : channel;
  }

  /** `address`: `unix:///path` or `host:port`. */
  async build<T>(address: string, Client: ClientCtor<T>, options: grpc.ClientOptions = {}): Promise<T> {
    return new Client(address, await this.credentials(), options);
  }
}
