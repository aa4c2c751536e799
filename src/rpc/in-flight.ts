/**
 * A connection's requests in flight, keyed by id with the id's exact value: strings and plain numbers
 * as themselves, numbers kept as exact text (ExactNumberId) by that text in a map of their own, so that
 * 9007199254740993 and 9007199254740992 are two ids and the string "5" never collides with the number 5.
 */
import type { ExactNumberId, JsonRpcId } from '../wire/jsonrpc.js';

export class InFlightTable<V> {
  // Created on first use: most connections are idle most of the time, and exact ids are rare.
  private plain: Map<string | number, V> | undefined;
  private exact: Map<string, { id: ExactNumberId; value: V }> | undefined;

  get size(): number {
    return (this.plain?.size ?? 0) + (this.exact?.size ?? 0);
  }

  has(id: JsonRpcId): boolean {
    return (typeof id === 'object' ? this.exact?.has(id.text) : this.plain?.has(id)) ?? false;
  }

  get(id: JsonRpcId): V | undefined {
    return typeof id === 'object' ? this.exact?.get(id.text)?.value : this.plain?.get(id);
  }

  set(id: JsonRpcId, value: V): void {
    if (typeof id === 'object') (this.exact ??= new Map()).set(id.text, { id, value });
    else (this.plain ??= new Map()).set(id, value);
  }

  /** Remove the entry of `id` and return it (undefined when there was none). */
  take(id: JsonRpcId): V | undefined {
    if (typeof id === 'object') {
      const e = this.exact?.get(id.text);
      if (e) this.exact!.delete(id.text);
      return e?.value;
    }
    const v = this.plain?.get(id);
    if (v !== undefined) this.plain!.delete(id);
    return v;
  }

  delete(id: JsonRpcId): boolean {
    return (typeof id === 'object' ? this.exact?.delete(id.text) : this.plain?.delete(id)) ?? false;
  }

  *entries(): IterableIterator<[JsonRpcId, V]> {
    if (this.plain) yield* this.plain.entries();
    for (const { id, value } of this.exact?.values() ?? []) yield [id, value];
  }

  [Symbol.iterator](): IterableIterator<[JsonRpcId, V]> {
    return this.entries();
  }

  *values(): IterableIterator<V> {
    if (this.plain) yield* this.plain.values();
    for (const e of this.exact?.values() ?? []) yield e.value;
  }

  clear(): void {
    this.plain = undefined;
    this.exact = undefined;
  }
}
