/**
 * The Unigram segmentation of SentencePiece's unigram::Model::EncodeOptimized: a Viterbi search over
 * the normalized UTF-8 bytes in which every vocabulary piece starting at a character boundary is an
 * edge weighted by its score. The arithmetic copies the C++ types so that ties and near ties break
 * the same way: path scores are stored as float32, a piece's candidate is summed and compared in
 * double, an unknown character's in float32, and a later candidate replaces an earlier one only
 * when strictly better.
 */
import { AlignedUnits } from './aligned-units.js';
import { utf8CharLength } from './utf8.js';
import { ByteTrie, TRIE_STRIDE } from './byte-trie.js';
import { PieceType, type SentencePieceModel } from './sentencepiece-model.js';

/** unigram::kUnkPenalty: an unknown character scores this much below the lowest piece. */
const UNKNOWN_PENALTY = 10;
const FLT_MAX = 3.4028234663852886e38;
/** The smallest positive normal float, which is what C++'s FLT_MIN is. */
const FLT_MIN = 1.1754943508222875e-38;

/** Pieces found in a normalized text: byte ranges [start, end) and ids. */
export class PieceList {
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  ids = new Int32Array(64);
  length = 0;

  clear(): void {
    this.length = 0;
  }

  push(start: number, end: number, id: number): void {
    if (this.length === this.ids.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      this.ids = grow(this.ids);
    }
    const i = this.length++;
    this.starts[i] = start;
    this.ends[i] = end;
    this.ids[i] = id;
  }
}

export class UnigramModel {
  /**
   * Every piece, so that it also serves PieceToId. The search may use NORMAL and USER_DEFINED
   * pieces only (as SentencePiece, whose trie holds UNUSED ones only to skip them): their value is
   * their id; any other piece is stored as -2 - id, which the search skips like a state with no piece.
   */
  private readonly trie: ByteTrie;
  readonly unkId: number;
  /** Per piece, its score; NaN marks a user-defined piece, whose score depends on its length. */
  private readonly scores: Float32Array;
  private readonly unknownScore: number;
  private readonly maxScore: number;
  // Viterbi lattice, reused: best path score, start and last piece id of the best path ending at each byte.
  private bestScore = new Float32Array(0);
  private bestStart = new Int32Array(0);
  private bestId = new Int32Array(0);

  constructor(model: SentencePieceModel) {
    const encoder = new TextEncoder();
    this.trie = ByteTrie.build(
      model.pieces.map((piece) => encoder.encode(piece)),
      model.pieces.map((_, id) =>
        model.types[id] === PieceType.NORMAL || model.types[id] === PieceType.USER_DEFINED ? id : -2 - id,
      ),
    );
    this.scores = Float32Array.from(model.scores, (score, id) =>
      model.types[id] === PieceType.USER_DEFINED ? NaN : score,
    );
    this.unkId = model.types.indexOf(PieceType.UNKNOWN);
    // unigram::Model's constructor: the range of NORMAL scores, starting from FLT_MAX and FLT_MIN.
    let minScore = FLT_MAX;
    let maxScore = FLT_MIN;
    model.types.forEach((type, id) => {
      if (type !== PieceType.NORMAL) return;
      minScore = Math.min(minScore, model.scores[id]!);
      maxScore = Math.max(maxScore, model.scores[id]!);
    });
    if (minScore === FLT_MAX) minScore = 0;
    if (maxScore === FLT_MIN) maxScore = 0;
    this.unknownScore = Math.fround(minScore - UNKNOWN_PENALTY);
    this.maxScore = maxScore;
  }

  /** Id of the piece spelled by the UTF-8 bytes[start, end), whatever its type, or -1. */
  pieceIdOf(bytes: ArrayLike<number>, start: number, end: number): number {
    const value = this.trie.exactMatch(bytes, start, end);
    return value >= 0 || value === ByteTrie.NO_VALUE ? value : -2 - value;
  }

  /** Best segmentation of text.units[0, text.length) into out (cleared first), in text order. */
  segment(text: AlignedUnits, out: PieceList): void {
    out.clear();
    const size = text.length;
    if (size === 0) return;
    this.reserve(size + 1);
    const bytes = text.units;
    const nodes = this.trie.nodes;
    const scores = this.scores;
    const bestScore = this.bestScore;
    const bestStart = this.bestStart;
    const bestId = this.bestId;
    bestStart.fill(-1, 0, size + 1);
    bestScore[0] = 0;

    for (let startsAt = 0; startsAt < size; ) {
      const scoreHere = bestScore[startsAt]!;
      const charLength = Math.min(utf8CharLength(bytes[startsAt]!), size - startsAt);
      let hasSingleCharPiece = false;
      let state = ByteTrie.ROOT;
      for (let keyPos = startsAt; keyPos < size; ) {
        const t = nodes[state * TRIE_STRIDE]! + bytes[keyPos]!;
        if (t * TRIE_STRIDE >= nodes.length || nodes[t * TRIE_STRIDE + 1] !== state) break;
        state = t;
        keyPos++;
        const id = nodes[t * TRIE_STRIDE + 2]!;
        if (id < 0) continue;
        const length = keyPos - startsAt;
        let score = scores[id]!;
        // A user-defined symbol gets a bonus so that it is always chosen.
        if (score !== score) score = Math.fround(length * this.maxScore) - 0.1;
        const candidate = score + scoreHere;
        if (bestStart[keyPos] === -1 || candidate > bestScore[keyPos]!) {
          bestScore[keyPos] = candidate;
          bestStart[keyPos] = startsAt;
          bestId[keyPos] = id;
        }
        if (length === charLength) hasSingleCharPiece = true;
      }
      if (!hasSingleCharPiece) {
        const end = startsAt + charLength;
        const candidate = Math.fround(this.unknownScore + scoreHere);
        if (bestStart[end] === -1 || candidate > bestScore[end]!) {
          bestScore[end] = candidate;
          bestStart[end] = startsAt;
          bestId[end] = this.unkId;
        }
      }
      startsAt += charLength;
    }

    for (let end = size; end > 0; end = bestStart[end]!) out.push(bestStart[end]!, end, bestId[end]!);
    reversePieces(out);
  }

  private reserve(size: number): void {
    if (this.bestScore.length >= size) return;
    const capacity = Math.max(size, this.bestScore.length * 2);
    this.bestScore = new Float32Array(capacity);
    this.bestStart = new Int32Array(capacity);
    this.bestId = new Int32Array(capacity);
  }
}

/** The backtrack finds pieces last first. */
function reversePieces(list: PieceList): void {
  list.starts.subarray(0, list.length).reverse();
  list.ends.subarray(0, list.length).reverse();
  list.ids.subarray(0, list.length).reverse();
}
