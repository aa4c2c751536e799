/**
 * The allowed decisions of one connection, remembered for the calls that bring exactly the same inputs: the
 * same connection (so the same verified client certificate), the same bearer token text, the same policy
 * object, the same token role configuration (its version) and the same method. A call with any other input
 * is decided in full. Only the role assignment, the decision and the principal's JSON are remembered: the
 * token itself is verified on every call (expiry, key still in the JWKS, certificate binding, replay), so a
 * remembered grant ends with the token, and a refusal is never remembered (each one is decided and reported).
 * Bounded: {@link MAX_MEMO_METHODS} methods per connection; the entry goes with the connection.
 */

/** Most methods remembered per connection (the oldest goes first). */
export const MAX_MEMO_METHODS = 64;

interface ConnectionMemo {
  token: string | undefined;
  policy: object | undefined;
  rolesVersion: number;
  /** Method path → the principal's JSON. */
  allowed: Map<string, string>;
}

/** What a remembered decision depends on, besides the connection and the method. */
export interface MemoInputs {
  token: string | undefined;
  policy: object | undefined;
  rolesVersion: number;
}

export class DecisionMemo {
  readonly #byConnection = new WeakMap<object, ConnectionMemo>();

  /** The principal's JSON of an allowed call with these exact inputs, or undefined. */
  get(connection: object, path: string, inputs: MemoInputs): string | undefined {
    const m = this.#byConnection.get(connection);
    if (m === undefined || m.token !== inputs.token || m.policy !== inputs.policy || m.rolesVersion !== inputs.rolesVersion) return undefined;
    return m.allowed.get(path);
  }

  /** Remembers an allowed call; inputs that differ from the remembered ones replace them (and their methods). */
  set(connection: object, path: string, inputs: MemoInputs, principalJson: string): void {
    let m = this.#byConnection.get(connection);
    if (m === undefined || m.token !== inputs.token || m.policy !== inputs.policy || m.rolesVersion !== inputs.rolesVersion) {
      m = { ...inputs, allowed: new Map() };
      this.#byConnection.set(connection, m);
    }
    if (m.allowed.size >= MAX_MEMO_METHODS && !m.allowed.has(path)) m.allowed.delete(m.allowed.keys().next().value!);
    m.allowed.set(path, principalJson);
  }
}
