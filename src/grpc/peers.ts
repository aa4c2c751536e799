/**
 * Which connection a gRPC call arrived on. FlyMe accepts and verifies connections itself (kernel peer
 * credentials on Unix sockets, mutual TLS through the TlsServerUpgrader) and injects them into grpc-js;
 * each injected socket is tagged with a unique `remoteAddress`, which grpc-js reports as the call's peer
 * (`call.getPeer()`), and the verified identity is looked up by that tag. A call whose tag is unknown has
 * no identity (fail closed).
 */
import type { Duplex } from 'node:stream';
import type { FlyMeError } from '../errors.js';
import type { PeerCredentials, PinnedPeerProcess } from '../transport/peercred.js';
import type { PeerCertificateInfo } from '../transport/listener.js';

/** What FlyMe established about one connection before grpc-js saw it. */
export interface ConnectionIdentity {
  /** Kernel credentials (Unix-socket listeners). */
  peer?: PeerCredentials;
  /** The verified client certificate (TLS listeners). */
  cert?: PeerCertificateInfo;
  /** Why the client certificate was refused (each call is answered with this). */
  refusal?: FlyMeError;
  /** The peer process, pinned by a pidfd for the life of the connection (servers created with `pinPeers`). */
  process?: PinnedPeerProcess;
}

const TAG = 'flyme-conn:';

export class PeerRegistry {
  readonly #byTag = new Map<string, ConnectionIdentity>();
  #next = 1;

  /** Tags `socket` and remembers `identity` until the socket closes. Returns the tag. */
  register(socket: Duplex, identity: ConnectionIdentity): string {
    const tag = `${TAG}${this.#next++}`;
    // grpc-js reads session.socket.remoteAddress for getPeer(); an own property shadows the getter.
    Object.defineProperty(socket, 'remoteAddress', { value: tag, configurable: true });
    Object.defineProperty(socket, 'remotePort', { value: undefined, configurable: true });
    this.#byTag.set(tag, identity);
    socket.once('close', () => this.#byTag.delete(tag));
    return tag;
  }

  /** The identity of the connection a call came on (`call.getPeer()`), or undefined. */
  lookup(peer: string): ConnectionIdentity | undefined {
    return peer.startsWith(TAG) ? this.#byTag.get(peer) : undefined;
  }

  get size(): number {
    return this.#byTag.size;
  }
}
