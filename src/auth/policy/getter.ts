/**
 * A policy option as a getter. Kept apart from policy.ts so that servers taking a policy as an option (gRPC,
 * Redis, RPC) load the Policy class — and with it the YAML parser and the schema compiler — only when the
 * caller loads it; a gRPC server without a policy keeps ~2.7 MB less live heap (see docs/performance.md).
 */
import type { Policy } from './policy.js';

/** `Policy` fixed, or a function (e.g. `() => store.current`) that follows reloads; undefined stays undefined. */
export function policyGetter(policy: Policy | (() => Policy) | undefined): (() => Policy) | undefined {
  return typeof policy === 'function' ? policy : policy ? () => policy : undefined;
}
