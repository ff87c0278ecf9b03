/** Int32 slots per state in ByteTrie.nodes: base, check, value. */
export const TRIE_STRIDE = 3;

/**
 * A double-array trie over byte strings: the child of `state` by `byte` is `base[state] + byte` if
 * that state's `check` is `state`. The Viterbi search walks it one byte at a time from every start
 * position, so each state keeps its base, check and value side by side in one Int32Array: a step
 * touches one cache line, and a walk costs a few reads per byte, which keeps encoding a long word
 * linear in its length times the longest piece.
 */
export class ByteTrie {
  /** Root state. */
  static readonly ROOT = 0;
  /** Stored where no key ends. */
  static readonly NO_VALUE = -1;

  /**
   * Use ByteTrie.build. `nodes` holds, per state s, base at TRIE_STRIDE * s, check at
   * TRIE_STRIDE * s + 1 and, at TRIE_STRIDE * s + 2, the value of the key ending at s, or NO_VALUE.
   */
  constructor(readonly nodes: Int32Array) {}

  /** Keys must be distinct and non-empty; `values[i]`, anything but NO_VALUE, is stored for `keys[i]`. */
  static build(keys: readonly Uint8Array[], values: readonly number[]): ByteTrie {
    const builder = new DoubleArrayBuilder(keys.length * 4 + 512);
    const order = keys.map((_, i) => i).sort((a, b) => compareBytes(keys[a]!, keys[b]!));
    if (order.length > 0) builder.place(ByteTrie.ROOT, keys, values, order, 0, order.length, 0);
    return builder.finish();
  }

  /** State reached from `state` by `byte`, or -1. */
  next(state: number, byte: number): number {
    const t = this.nodes[state * TRIE_STRIDE]! + byte;
    return t * TRIE_STRIDE < this.nodes.length && this.nodes[t * TRIE_STRIDE + 1] === state ? t : -1;
  }

  /** Value of the key bytes[start, end), or NO_VALUE. */
  exactMatch(bytes: ArrayLike<number>, start: number, end: number): number {
    let state = ByteTrie.ROOT;
    for (let i = start; i < end && state >= 0; i++) state = this.next(state, bytes[i]!);
    return state < 0 ? ByteTrie.NO_VALUE : this.nodes[state * TRIE_STRIDE + 2]!;
  }

  /** Length of the longest key that is a prefix of bytes[start, end), 0 if none. */
  longestPrefix(bytes: ArrayLike<number>, start: number, end: number): number {
    let state = ByteTrie.ROOT;
    let longest = 0;
    for (let i = start; i < end; i++) {
      state = this.next(state, bytes[i]!);
      if (state < 0) break;
      if (this.nodes[state * TRIE_STRIDE + 2] !== ByteTrie.NO_VALUE) longest = i + 1 - start;
    }
    return longest;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Lays keys out depth first. Free slots form a linked list, so finding a base for a node's children
 * visits free slots only: a single child (the common case, deep in long pieces) takes the first one.
 */
class DoubleArrayBuilder {
  private base: Int32Array;
  private check: Int32Array;
  private value: Int32Array;
  /** Doubly linked list of free slots; FREE_LIST_END terminates it. */
  private nextFree: Int32Array;
  private prevFree: Int32Array;
  private firstFree: number;
  private used = 1;

  constructor(capacity: number) {
    this.base = new Int32Array(0);
    this.check = new Int32Array(0);
    this.value = new Int32Array(0);
    this.nextFree = new Int32Array(0);
    this.prevFree = new Int32Array(0);
    this.firstFree = FREE_LIST_END;
    this.reserve(capacity);
    this.occupy(ByteTrie.ROOT, ByteTrie.ROOT);
  }

  /** Lays out the subtree of keys order[lo, hi), which share their first `depth` bytes, under `state`. */
  place(
    state: number,
    keys: readonly Uint8Array[],
    values: readonly number[],
    order: readonly number[],
    lo: number,
    hi: number,
    depth: number,
  ): void {
    let i = lo;
    if (keys[order[i]!]!.length === depth) this.value[state] = values[order[i++]!]!;
    const labels: number[] = [];
    const bounds: number[] = [];
    while (i < hi) {
      const label = keys[order[i]!]![depth]!;
      let j = i + 1;
      while (j < hi && keys[order[j]!]![depth] === label) j++;
      labels.push(label);
      bounds.push(i, j);
      i = j;
    }
    if (labels.length === 0) return;
    const base = this.findBase(labels);
    this.base[state] = base;
    for (const label of labels) this.occupy(base + label, state);
    this.used = Math.max(this.used, base + labels[labels.length - 1]! + 1);
    for (let k = 0; k < labels.length; k++) {
      this.place(base + labels[k]!, keys, values, order, bounds[2 * k]!, bounds[2 * k + 1]!, depth + 1);
    }
  }

  finish(): ByteTrie {
    const nodes = new Int32Array(this.used * TRIE_STRIDE);
    for (let s = 0; s < this.used; s++) {
      nodes[s * TRIE_STRIDE] = this.base[s]!;
      nodes[s * TRIE_STRIDE + 1] = this.check[s]!;
      nodes[s * TRIE_STRIDE + 2] = this.value[s]!;
    }
    return new ByteTrie(nodes);
  }

  private findBase(labels: readonly number[]): number {
    for (let slot = this.firstFree; ; slot = this.nextFree[slot]!) {
      if (slot === FREE_LIST_END) {
        // Every free slot was tried: grow, and continue from the first new one.
        slot = this.check.length;
        this.reserve(slot + 256);
      }
      const base = slot - labels[0]!;
      if (base < 1) continue;
      this.reserve(base + 256);
      let fits = true;
      for (let k = 1; k < labels.length && fits; k++) fits = this.check[base + labels[k]!] === -1;
      if (fits) return base;
    }
  }

  private occupy(slot: number, parent: number): void {
    this.check[slot] = parent;
    const prev = this.prevFree[slot]!;
    const next = this.nextFree[slot]!;
    if (prev === FREE_LIST_END) this.firstFree = next;
    else this.nextFree[prev] = next;
    if (next !== FREE_LIST_END) this.prevFree[next] = prev;
  }

  private reserve(capacity: number): void {
    const old = this.check.length;
    if (capacity <= old) return;
    const size = Math.max(capacity, old * 2);
    const grow = (array: Int32Array, fill: number) => {
      const next = new Int32Array(size).fill(fill);
      next.set(array);
      return next;
    };
    this.base = grow(this.base, 0);
    this.check = grow(this.check, -1);
    this.value = grow(this.value, ByteTrie.NO_VALUE);
    this.nextFree = grow(this.nextFree, FREE_LIST_END);
    this.prevFree = grow(this.prevFree, FREE_LIST_END);
    // Append the new slots to the free list, in order.
    let last = FREE_LIST_END;
    for (let slot = this.firstFree; slot !== FREE_LIST_END; slot = this.nextFree[slot]!) last = slot;
    for (let slot = old; slot < size; slot++) {
      this.prevFree[slot] = last;
      if (last === FREE_LIST_END) this.firstFree = slot;
      else this.nextFree[last] = slot;
      last = slot;
    }
  }
}

const FREE_LIST_END = -1;
