/**
 * A connection's requests in flight, keyed by id with the id's exact value: strings and plain numbers
 * as themselves, numbers kept as exact text (ExactNumberId) by that text in a map of their own, so that
 * 9007199254740993 and 9007199254740992 are two ids and the string "5" never collides with the number 5.
 */
import type { ExactNumberId, JsonRpcId } from '../wire/jsonrpc.js';

export class InFlightTable<V> {
  private readonly plain = new Map<string | number, V>();
  private readonly exact = new Map<string, { id: ExactNumberId; value: V }>();

  get size(): number {
    return this.plain.size + this.exact.size;
  }

  has(id: JsonRpcId): boolean {
    return typeof id === 'object' ? this.exact.has(id.text) : this.plain.has(id);
  }

  get(id: JsonRpcId): V | undefined {
    return typeof id === 'object' ? this.exact.get(id.text)?.value : this.plain.get(id);
  }

  set(id: JsonRpcId, value: V): void {
    if (typeof id === 'object') this.exact.set(id.text, { id, value });
    else this.plain.set(id, value);
  }

  delete(id: JsonRpcId): boolean {
    return typeof id === 'object' ? this.exact.delete(id.text) : this.plain.delete(id);
  }

  *entries(): IterableIterator<[JsonRpcId, V]> {
    yield* this.plain.entries();
    for (const { id, value } of this.exact.values()) yield [id, value];
  }

  [Symbol.iterator](): IterableIterator<[JsonRpcId, V]> {
    return this.entries();
  }

  *values(): IterableIterator<V> {
    yield* this.plain.values();
    for (const e of this.exact.values()) yield e.value;
  }

  clear(): void {
    this.plain.clear();
    this.exact.clear();
  }
}
