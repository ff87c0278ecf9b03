/**
 * SentencePiece's precompiled charsmap: `<u32 little-endian trie size><darts-clone double array>
 * <NUL-terminated replacement strings>`. The trie maps UTF-8 byte sequences (one or several
 * characters) to the offset of their replacement. Rules are looked up by longest prefix, exactly as
 * Normalizer::NormalizePrefix does with darts-clone's commonPrefixSearch.
 */
import { AlbertError } from '../errors.js';

/** Normalizer::kMaxTrieResultsSize: commonPrefixSearch reports at most this many matches. */
const MAX_TRIE_RESULTS = 32;

export class PrecompiledCharsmap {
  /** darts-clone units */
  private readonly trie: Uint32Array;
  /** The replacement strings, each ending in NUL. */
  readonly replacements: Uint8Array;
  /** Set by longestMatch: where the matched rule's replacement starts in `replacements`. */
  replacementStart = 0;
  /** Set by longestMatch: where it ends (its NUL). */
  replacementEnd = 0;

  constructor(blob: Uint8Array, fileName: string) {
    const fail = (what: string): never => {
      throw new AlbertError('TOKENIZER_INVALID', `${fileName}: precompiled_charsmap ${what}`);
    };
    if (blob.length <= 4) fail(`is ${blob.length} bytes long; expected a 4-byte trie size and the trie`);
    const view = new DataView(blob.buffer, blob.byteOffset, blob.length);
    const trieSize = view.getUint32(0, true);
    if (trieSize === 0 || trieSize % 4 !== 0 || 4 + trieSize > blob.length) {
      fail(`declares a trie of ${trieSize} bytes in a blob of ${blob.length}; expected a multiple of 4 that fits`);
    }
    this.trie = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.trie.length; i++) this.trie[i] = view.getUint32(4 + 4 * i, true);
    this.replacements = blob.slice(4 + trieSize);
    if (this.replacements.length === 0 || this.replacements[this.replacements.length - 1] !== 0) {
      fail('replacement strings do not end with NUL');
    }
  }

  /** Whether some rule starts with `byte`. */
  hasRuleStartingWith(byte: number): boolean {
    const id = unitOffset(this.trie[0]!) ^ byte;
    return id < this.trie.length && (this.trie[id]! & 0x800000ff) === byte;
  }

  /**
   * Length in bytes of the longest rule matching a prefix of input[pos, end), or 0. On a match,
   * replacementStart/replacementEnd delimit its replacement.
   */
  longestMatch(input: Int32Array, pos: number, end: number): number {
    const trie = this.trie;
    const size = trie.length;
    let id = unitOffset(trie[0]!);
    let longest = 0;
    let value = 0;
    let results = 0;
    for (let i = pos; i < end; i++) {
      const byte = input[i]!;
      id ^= byte;
      if (id >= size) break;
      const unit = trie[id]!;
      // label(): the low byte, plus bit 31 which marks a leaf unit and so never equals a byte.
      if ((unit & 0x800000ff) !== byte) break;
      id ^= unitOffset(unit);
      if ((unit >>> 8) & 1) {
        if (id >= size) break;
        if (results++ < MAX_TRIE_RESULTS) {
          longest = i + 1 - pos;
          value = trie[id]! & 0x7fffffff;
        }
      }
    }
    if (longest > 0) {
      if (value >= this.replacements.length) {
        throw new AlbertError('TOKENIZER_INVALID', 'precompiled_charsmap: a rule points past the replacement strings');
      }
      this.replacementStart = value;
      this.replacementEnd = this.replacements.indexOf(0, value);
    }
    return longest;
  }
}

function unitOffset(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
}
