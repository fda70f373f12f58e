/**
 * Immutable facts worth remembering in a warm process (a connection's charge point, a transaction's
 * owner): a map that empties itself when full instead of growing without bound.
 */
export class WarmCache<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(private readonly capacity = 50_000) {}

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): void {
    if (this.#entries.size >= this.capacity) this.#entries.clear();
    this.#entries.set(key, value);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }
}
