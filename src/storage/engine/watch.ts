/**
 * WATCH bookkeeping: which clients watch which keys. Every write to a key of the default
 * table (through KeyTable or the pending overlay) touches it, marking each watcher dirty so
 * its EXEC aborts, as in Redis. The lookup costs nothing while nobody watches anything.
 */

export interface Watcher {
  dirty: boolean;
  readonly keys: Set<string>;
}

export class KeyWatches {
  private readonly byKey = new Map<string, Set<Watcher>>();

  /** `id` is storage's key id (keys.ts keyId), unique per key. */
  watch(id: string, watcher: Watcher): void {
    let set = this.byKey.get(id);
    if (!set) {
      set = new Set();
      this.byKey.set(id, set);
    }
    set.add(watcher);
    watcher.keys.add(id);
  }

  unwatchAll(watcher: Watcher): void {
    for (const id of watcher.keys) {
      const set = this.byKey.get(id);
      set?.delete(watcher);
      if (set && set.size === 0) this.byKey.delete(id);
    }
    watcher.keys.clear();
    watcher.dirty = false;
  }

  touch(id: string): void {
    if (this.byKey.size === 0) return;
    const set = this.byKey.get(id);
    if (set) for (const w of set) w.dirty = true;
  }

  /** Touches every watched key whose id passes `test` (SWAPDB: keys of the two databases). */
  touchWhere(test: (id: string) => boolean): void {
    for (const [id, set] of this.byKey) if (test(id)) for (const w of set) w.dirty = true;
  }

  /** FLUSHDB/FLUSHALL touch every key. */
  touchAll(): void {
    for (const set of this.byKey.values()) for (const w of set) w.dirty = true;
  }
}
