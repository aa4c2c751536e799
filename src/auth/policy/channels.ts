/**
 * Channel ACL for pub/sub (the policy file's `channels:` section): which SPIFFE IDs, ID prefixes or
 * roles may publish and subscribe to which channels. Deny by default.
 *
 * Matching: a rule's `channel` is an exact name or a glob where `*` matches any run of characters
 * (`orders.*` matches `orders.eu` and `orders.eu.x`). Subscribing to a *pattern* is allowed only when a
 * rule names exactly that pattern (a pattern cannot be proven to stay inside another one in general).
 */
import { Type, type Static } from '@sinclair/typebox';

const Selector = Type.Union([
  Type.Object({ spiffeId: Type.String({ pattern: '^spiffe://', maxLength: 2048 }) }, { additionalProperties: false }),
  Type.Object({ spiffeIdPrefix: Type.String({ pattern: '^spiffe://.*/$', maxLength: 2048 }) }, { additionalProperties: false }),
  Type.Object({ role: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
]);

export const ChannelRuleSchema = Type.Object({
  channel: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\s?\\[\\]]+$' }),
  publish: Type.Optional(Type.Array(Selector, { maxItems: 256 })),
  subscribe: Type.Optional(Type.Array(Selector, { maxItems: 256 })),
}, { additionalProperties: false });

export const ChannelsSchema = Type.Array(ChannelRuleSchema, { maxItems: 10_000 });

export type ChannelRule = Static<typeof ChannelRuleSchema>;
export type ChannelSelector = Static<typeof Selector>;

/** Who is asking: the SPIFFE ID proven by a certificate or signature, and server-decided roles. */
export interface ChannelSubject {
  spiffeId: string;
  roles?: ReadonlySet<string> | readonly string[];
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+^${}()|\\]/g, '\\$&')).join('.*')}$`);
}

export class ChannelAcl {
  readonly #rules: Array<ChannelRule & { re: RegExp; isPattern: boolean }>;

  constructor(readonly rules: readonly ChannelRule[]) {
    this.#rules = rules.map((r) => ({ ...r, re: globToRegExp(r.channel), isPattern: r.channel.includes('*') }));
  }

  canPublish(who: ChannelSubject, channel: string): boolean {
    if (channel.includes('*')) return false;
    return this.#rules.some((r) => r.re.test(channel) && matchesAny(r.publish, who));
  }

  /** `channel` may be a pattern (with `*`): then a rule must name exactly that pattern. */
  canSubscribe(who: ChannelSubject, channel: string): boolean {
    const pattern = channel.includes('*');
    return this.#rules.some((r) => (pattern ? r.channel === channel : r.re.test(channel)) && matchesAny(r.subscribe, who));
  }

  /** The rules naming this subject (by ID, prefix or role), with what each lets it do (e.g. for Redis's own ACL). */
  grantsOf(who: ChannelSubject): Array<{ channel: string; publish: boolean; subscribe: boolean }> {
    return this.#rules.map((r) => ({ channel: r.channel, publish: matchesAny(r.publish, who), subscribe: matchesAny(r.subscribe, who) }))
      .filter((g) => g.publish || g.subscribe);
  }
}

function matchesAny(selectors: readonly ChannelSelector[] | undefined, who: ChannelSubject): boolean {
  const roles = who.roles ? new Set(who.roles) : new Set<string>();
  return (selectors ?? []).some((s) => ('spiffeId' in s ? s.spiffeId === who.spiffeId
    : 'spiffeIdPrefix' in s ? who.spiffeId.startsWith(s.spiffeIdPrefix)
    : roles.has(s.role)));
}
