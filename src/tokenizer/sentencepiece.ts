/**
 * SentencePieceProcessor::Encode for a Unigram model: normalize, segment, then merge each run of
 * unknown pieces into one, whose id is then looked up by its text as PieceToId does (<unk> unless
 * the run happens to spell a piece).
 */
import { AlbertError } from '../errors.js';
import { AlignedUnits } from './aligned-units.js';
import { ByteTrie } from './byte-trie.js';
import { PrecompiledCharsmap } from './charsmap.js';
import { SentencePieceNormalizer } from './normalizer.js';
import { PieceType, type SentencePieceModel } from './sentencepiece-model.js';
import { PieceList, UnigramModel } from './unigram.js';

const encoder = new TextEncoder();

export class SentencePieceProcessor {
  readonly pieces: readonly string[];
  readonly unkId: number;
  private readonly model: UnigramModel;
  private readonly normalizer: SentencePieceNormalizer;

  constructor(model: SentencePieceModel, fileName: string) {
    this.pieces = model.pieces;
    this.model = new UnigramModel(model);
    this.unkId = this.model.unkId;
    const charsmap = model.normalizer.precompiledCharsmap;
    const userDefined = model.pieces.filter((_, id) => model.types[id] === PieceType.USER_DEFINED);
    this.normalizer = new SentencePieceNormalizer(
      model.normalizer,
      charsmap === null ? null : new PrecompiledCharsmap(charsmap, fileName),
      userDefined.length === 0
        ? null
        : ByteTrie.build(
            userDefined.map((piece) => encoder.encode(piece)),
            userDefined.map(() => 0),
          ),
    );
  }

  /** PieceToId: the id of a piece's text, or <unk>'s. */
  pieceToId(piece: string): number {
    const bytes = encoder.encode(piece);
    return this.bytesToId(bytes, 0, bytes.length);
  }

  /** PieceToId of the piece spelled by the UTF-8 bytes[start, end). */
  bytesToId(bytes: ArrayLike<number>, start: number, end: number): number {
    const id = this.model.pieceIdOf(bytes, start, end);
    return id < 0 ? this.unkId : id;
  }

  /**
   * Encodes `input` (UTF-8 with spans). `normalized` receives the normalized text and `pieces` the
   * byte ranges of `normalized` with their ids.
   */
  encode(input: AlignedUnits, normalized: AlignedUnits, pieces: PieceList): void {
    this.normalizer.normalize(input, normalized);
    this.model.segment(normalized, pieces);
    const unkId = this.unkId;
    const ids = pieces.ids;
    let kept = 0;
    for (let i = 0; i < pieces.length; i++) {
      if (ids[i] === unkId && kept > 0 && ids[kept - 1] === unkId) {
        pieces.ends[kept - 1] = pieces.ends[i]!;
        continue;
      }
      pieces.starts[kept] = pieces.starts[i]!;
      pieces.ends[kept] = pieces.ends[i]!;
      ids[kept++] = ids[i]!;
    }
    pieces.length = kept;
    // A merged run keeps <unk>'s id only until its text is looked up, which is what Python does next.
    for (let i = 0; i < kept; i++) {
      if (ids[i] === unkId) ids[i] = this.bytesToId(normalized.units, pieces.starts[i]!, pieces.ends[i]!);
    }
  }

  idToPiece(id: number): string {
    // Checked before any use as a key or in a message: a symbol or a null-prototype object throws there.
    if (typeof id !== 'number') throw new AlbertError('INPUT_INVALID', `token ids must be numbers, got ${typeof id}`);
    const piece = Number.isInteger(id) ? this.pieces[id] : undefined;
    if (piece === undefined) {
      throw new AlbertError('INPUT_INVALID', `token id ${id} is outside the vocabulary [0, ${this.pieces.length})`);
    }
    return piece;
  }
}
