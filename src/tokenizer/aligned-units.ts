/**
 * A growable sequence of units (code points or UTF-8 bytes, depending on the stage) in which every
 * unit remembers the [start, end) UTF-16 span of the original text that produced it. Each
 * normalization stage copies spans along with the units it emits, so a token's offsets are simply
 * the span from its first unit's start to its last unit's end.
 *
 * Scratch buffers of this type are reused from call to call; a megabyte of input must not allocate
 * per character.
 */
export class AlignedUnits {
  units: Int32Array;
  starts: Int32Array;
  ends: Int32Array;
  length = 0;

  constructor(capacity = 256) {
    this.units = new Int32Array(capacity);
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
  }

  clear(): void {
    this.length = 0;
  }

  push(unit: number, start: number, end: number): void {
    if (this.length === this.units.length) this.grow(this.length + 1);
    const i = this.length++;
    this.units[i] = unit;
    this.starts[i] = start;
    this.ends[i] = end;
  }

  private grow(minCapacity: number): void {
    const capacity = Math.max(minCapacity, this.units.length * 2);
    const units = new Int32Array(capacity);
    const starts = new Int32Array(capacity);
    const ends = new Int32Array(capacity);
    units.set(this.units.subarray(0, this.length));
    starts.set(this.starts.subarray(0, this.length));
    ends.set(this.ends.subarray(0, this.length));
    this.units = units;
    this.starts = starts;
    this.ends = ends;
  }
}
