/**
 * AlbertTokenizer: the ids of Python's AlbertTokenizer (SentencePiece plus transformers'
 * preprocessing), the inputs and offsets of AlbertTokenizerFast. Reads `spiece.model` or
 * `tokenizer.json`.
 *
 * Encoding one text follows PreTrainedTokenizer.tokenize(): the added tokens ([MASK], [CLS], ...)
 * are found first and kept whole, every stretch of text between them goes through
 * AlbertTokenizer._tokenize() on its own: preprocess_text(), SentencePiece, and the re-split of
 * pieces ending in a digit and a comma.
 */
import { AlbertError } from '../errors.js';
import { AlignedUnits } from './aligned-units.js';
import {
  buildEncoding,
  padEncodings,
  resolveEncodeOptions,
  type EncodeOptions,
  type Encoding,
  type SpecialTokens,
  type TokenSequence,
} from './encoding.js';
import { AlbertPreprocessor, type AlbertTextOptions } from './preprocess.js';
import { parseSentencePieceModel } from './sentencepiece-model.js';
import { SentencePieceProcessor } from './sentencepiece.js';
import { readTokenizerJson, type AddedToken, type TokenizerDefinition } from './tokenizer-json.js';
import { codePointAt, isPythonDigit, isPythonWhitespace, utf16Length } from './unicode.js';
import { PieceList } from './unigram.js';
import { decodeUtf8At, utf8StartBefore } from './utf8.js';

export interface AlbertTokenizerOptions {
  /** Lowercase the text. Default true (spiece.model) or what tokenizer.json's normalizer says. */
  doLowerCase?: boolean;
  /** Keep accents instead of NFKD and mark removal. Default false, or as tokenizer.json says. */
  keepAccents?: boolean;
  /** Strip and collapse whitespace. Default true. */
  removeSpace?: boolean;
  /** Named in error messages. */
  fileName?: string;
  /** Default maxLength for truncation and padding. Default 512, ALBERT's model_max_length. */
  modelMaxLength?: number;
}

const PAD = '<pad>';
const UNK = '<unk>';
const CLS = '[CLS]';
const SEP = '[SEP]';
const MASK = '[MASK]';
const META_SPACE = '\u2581';
const COMMA = 0x2c;

/** AlbertTokenizer's special tokens as its __init__ declares them: only [MASK] strips the space on its left. */
const ALBERT_ADDED_TOKENS: readonly (readonly [string, boolean])[] = [
  [PAD, false],
  [UNK, false],
  [CLS, false],
  [SEP, false],
  [MASK, true],
];

export class AlbertTokenizer {
  readonly vocabSize: number;
  readonly padTokenId: number;
  readonly unkTokenId: number;
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  readonly maskTokenId: number;
  readonly maskToken = MASK;
  readonly modelMaxLength: number;

  private readonly processor: SentencePieceProcessor;
  private readonly preprocessor: AlbertPreprocessor;
  private readonly addedTokens: readonly AddedToken[];
  /** Finds candidate added tokens; addedTokenAt confirms them. */
  private readonly addedTokenPattern: RegExp | null;
  private readonly specialIds: ReadonlySet<number>;
  private readonly commaId: number;
  private readonly specials: SpecialTokens;
  // Scratch buffers, reused by every call.
  private readonly preprocessed = new AlignedUnits();
  private readonly normalized = new AlignedUnits();
  private readonly pieces = new PieceList();
  private readonly resplitInput = new AlignedUnits();
  private readonly resplitNormalized = new AlignedUnits();
  private readonly resplitPieces = new PieceList();

  private constructor(definition: TokenizerDefinition, options: AlbertTokenizerOptions, fileName: string) {
    const text: AlbertTextOptions = {
      doLowerCase: options.doLowerCase ?? definition.text.doLowerCase,
      keepAccents: options.keepAccents ?? definition.text.keepAccents,
      removeSpace: options.removeSpace ?? definition.text.removeSpace,
    };
    this.processor = new SentencePieceProcessor(definition.model, fileName);
    this.preprocessor = new AlbertPreprocessor(text);
    this.vocabSize = definition.model.pieces.length;
    const requireId = (token: string): number => {
      const id = definition.model.pieces.indexOf(token);
      if (id < 0) throw new AlbertError('TOKENIZER_INVALID', `${fileName}: the vocabulary has no ${token} piece`);
      return id;
    };
    this.padTokenId = requireId(PAD);
    this.unkTokenId = requireId(UNK);
    this.clsTokenId = requireId(CLS);
    this.sepTokenId = requireId(SEP);
    this.maskTokenId = requireId(MASK);
    this.commaId = this.processor.pieceToId(',');
    this.modelMaxLength = options.modelMaxLength ?? 512;

    // Longest first, so that at one position the regex tries the longest token first.
    this.addedTokens = [...definition.addedTokens].sort((a, b) => b.content.length - a.content.length);
    this.addedTokenPattern =
      this.addedTokens.length === 0
        ? null
        : new RegExp(
            this.addedTokens.map((t) => t.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
            text.doLowerCase ? 'giu' : 'gu',
          );
    this.specialIds = new Set([
      this.padTokenId,
      this.unkTokenId,
      this.clsTokenId,
      this.sepTokenId,
      this.maskTokenId,
      ...definition.addedTokens.map((t) => t.id),
    ]);
    this.specials = {
      clsId: this.clsTokenId,
      sepId: this.sepTokenId,
      padId: this.padTokenId,
      pieces: definition.model.pieces,
    };
  }

  /** From the bytes of a SentencePiece `spiece.model`. */
  static fromSentencePiece(bytes: Uint8Array, options: AlbertTokenizerOptions = {}): AlbertTokenizer {
    const fileName = options.fileName ?? 'spiece.model';
    if (!(bytes instanceof Uint8Array)) {
      throw new AlbertError('INPUT_INVALID', `${fileName}: expected the file's bytes as a Uint8Array`);
    }
    const model = parseSentencePieceModel(bytes, fileName);
    const addedTokens = ALBERT_ADDED_TOKENS.map(([content, lstrip]) => ({
      content,
      id: model.pieces.indexOf(content),
      lstrip,
      rstrip: false,
    })).filter((t) => t.id >= 0);
    const text: AlbertTextOptions = { doLowerCase: true, keepAccents: false, removeSpace: true };
    return new AlbertTokenizer({ model, text, addedTokens }, options, fileName);
  }

  /** From a Hugging Face `tokenizer.json` of an ALBERT model: its text, its bytes or its parsed object. */
  static fromTokenizerJson(json: string | Uint8Array | object, options: AlbertTokenizerOptions = {}): AlbertTokenizer {
    const fileName = options.fileName ?? 'tokenizer.json';
    return new AlbertTokenizer(readTokenizerJson(json, fileName), options, fileName);
  }

  encode(text: string, options: EncodeOptions = {}): Encoding {
    const resolved = resolveEncodeOptions(options, this.modelMaxLength);
    checkText(text, 'text');
    if (options.pair !== undefined) checkText(options.pair, 'pair');
    const encoding = buildEncoding(
      this.tokenize(text),
      options.pair === undefined ? null : this.tokenize(options.pair),
      resolved,
      this.specials,
    );
    padEncodings([encoding], resolved, this.specials);
    return encoding;
  }

  /** Encodes texts and [text, textPair] pairs; padding 'longest' pads to the longest of the batch. */
  encodeBatch(texts: (string | [string, string])[], options: EncodeOptions = {}): Encoding[] {
    const resolved = resolveEncodeOptions(options, this.modelMaxLength);
    if (!Array.isArray(texts)) throw new AlbertError('INPUT_INVALID', 'encodeBatch expects an array of texts');
    if (options.pair !== undefined) {
      throw new AlbertError('INPUT_INVALID', 'encodeBatch takes pairs as [text, textPair] items, not options.pair');
    }
    const encodings = texts.map((item, i) => {
      if (Array.isArray(item)) {
        if (item.length !== 2) throw new AlbertError('INPUT_INVALID', `texts[${i}] must be a string or [text, textPair]`);
        checkText(item[0], `texts[${i}][0]`);
        checkText(item[1], `texts[${i}][1]`);
        return buildEncoding(this.tokenize(item[0]), this.tokenize(item[1]), resolved, this.specials);
      }
      checkText(item, `texts[${i}]`);
      return buildEncoding(this.tokenize(item), null, resolved, this.specials);
    });
    padEncodings(encodings, resolved, this.specials);
    return encodings;
  }

  /** The text of `ids`: pieces joined, '▁' read as a space, trimmed (Metaspace decoding). */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new AlbertError('INPUT_INVALID', 'decode expects an array of token ids');
    }
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const piece = this.idToToken(id);
      if (this.specialIds.has(id)) {
        if (!options.skipSpecialTokens) text += piece;
      } else {
        text += piece.replaceAll(META_SPACE, ' ');
      }
    }
    return text.trim();
  }

  idToToken(id: number): string {
    return this.processor.idToPiece(id);
  }

  tokenToId(token: string): number | undefined {
    const id = this.processor.pieceToId(token);
    return id === this.unkTokenId && token !== UNK ? undefined : id;
  }

  /** The tokens of one text, without special tokens around it. */
  private tokenize(text: string): TokenSequence {
    const sequence: TokenSequence = { ids: [], starts: [], ends: [] };
    let segmentStart = 0;
    const pattern = this.addedTokenPattern;
    if (pattern !== null) {
      pattern.lastIndex = 0;
      for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
        const token = this.addedTokenAt(text, match.index);
        if (token === null) {
          pattern.lastIndex = match.index + 1;
          continue;
        }
        let segmentEnd = match.index;
        if (token.lstrip) {
          while (segmentEnd > segmentStart && isPythonWhitespace(text.charCodeAt(segmentEnd - 1))) segmentEnd--;
        }
        this.tokenizeSegment(text, segmentStart, segmentEnd, sequence);
        let tokenEnd = pattern.lastIndex;
        if (token.rstrip) {
          while (tokenEnd < text.length && isPythonWhitespace(text.charCodeAt(tokenEnd))) tokenEnd++;
        }
        // Like the fast tokenizer, the token's span includes the whitespace it swallowed.
        sequence.ids.push(token.id);
        sequence.starts.push(segmentEnd);
        sequence.ends.push(tokenEnd);
        segmentStart = tokenEnd;
        pattern.lastIndex = tokenEnd;
      }
    }
    this.tokenizeSegment(text, segmentStart, text.length, sequence);
    return sequence;
  }

  /**
   * The added token that the lowercased text shows at `pos`. transformers lowercases the text
   * character by character, except the added tokens written exactly, then splits on added tokens:
   * so "<PAD>" is <pad>, but "[mask]" is not [MASK].
   */
  private addedTokenAt(text: string, pos: number): AddedToken | null {
    const lower = this.preprocessor.options.doLowerCase;
    for (const token of this.addedTokens) {
      if (text.startsWith(token.content, pos)) return token;
      if (!lower) continue;
      let i = pos;
      let k = 0;
      while (k < token.content.length && i < text.length) {
        const cp = codePointAt(text, i);
        const lowered = String.fromCodePoint(cp).toLowerCase();
        if (!token.content.startsWith(lowered, k)) break;
        k += lowered.length;
        i += utf16Length(cp);
      }
      if (k === token.content.length) {
        this.addedTokenPattern!.lastIndex = i;
        return token;
      }
    }
    return null;
  }

  /** AlbertTokenizer._tokenize of text[start, end), appended to `sequence`. */
  private tokenizeSegment(text: string, start: number, end: number, sequence: TokenSequence): void {
    if (start >= end) return;
    this.preprocessor.run(text, start, end, this.preprocessed);
    const normalized = this.normalized;
    const pieces = this.pieces;
    this.processor.encode(this.preprocessed, normalized, pieces);
    for (let i = 0; i < pieces.length; i++) {
      const pieceStart = pieces.starts[i]!;
      const pieceEnd = pieces.ends[i]!;
      if (endsInDigitComma(normalized.units, pieceStart, pieceEnd)) {
        this.resplitDigitComma(pieceStart, pieceEnd, sequence);
      } else {
        sequence.ids.push(pieces.ids[i]!);
        sequence.starts.push(normalized.starts[pieceStart]!);
        sequence.ends.push(normalized.ends[pieceEnd - 1]!);
      }
    }
  }

  /**
   * AlbertTokenizer._tokenize's fix for pieces like '▁9,' or '000,': encode the piece again
   * without its comma and its '▁', drop the new leading '▁' if the piece had none, then the comma.
   */
  private resplitDigitComma(pieceStart: number, pieceEnd: number, sequence: TokenSequence): void {
    const normalized = this.normalized;
    const units = normalized.units;
    const input = this.resplitInput;
    input.clear();
    const commaAt = pieceEnd - 1;
    for (let b = pieceStart; b < commaAt; b++) {
      if (isMetaSpaceAt(units, b, commaAt)) b += 2;
      else input.push(units[b]!, normalized.starts[b]!, normalized.ends[b]!);
    }
    const subNormalized = this.resplitNormalized;
    const subPieces = this.resplitPieces;
    this.processor.encode(input, subNormalized, subPieces);
    const pieceHadMetaSpace = isMetaSpaceAt(units, pieceStart, pieceEnd);
    for (let j = 0; j < subPieces.length; j++) {
      let start = subPieces.starts[j]!;
      const end = subPieces.ends[j]!;
      let id = subPieces.ids[j]!;
      if (j === 0 && !pieceHadMetaSpace && isMetaSpaceAt(subNormalized.units, start, end)) {
        if (end - start === 3) continue;
        start += 3;
        id = this.processor.bytesToId(subNormalized.units, start, end);
      }
      sequence.ids.push(id);
      sequence.starts.push(subNormalized.starts[start]!);
      sequence.ends.push(subNormalized.ends[end - 1]!);
    }
    sequence.ids.push(this.commaId);
    sequence.starts.push(normalized.starts[commaAt]!);
    sequence.ends.push(normalized.ends[commaAt]!);
  }
}

function checkText(text: unknown, name: string): void {
  if (typeof text !== 'string') {
    throw new AlbertError('INPUT_INVALID', `${name} must be a string, got ${text === null ? 'null' : typeof text}`);
  }
}

/** Whether '▁' is encoded at bytes[at, at + 3) within [.., end). */
function isMetaSpaceAt(bytes: Int32Array, at: number, end: number): boolean {
  return end - at >= 3 && bytes[at] === 0xe2 && bytes[at + 1] === 0x96 && bytes[at + 2] === 0x81;
}

/** `len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()` on the UTF-8 bytes [start, end). */
function endsInDigitComma(bytes: Int32Array, start: number, end: number): boolean {
  if (end - start < 2 || bytes[end - 1] !== COMMA) return false;
  return isPythonDigit(decodeUtf8At(bytes, utf8StartBefore(bytes, end - 1, start)));
}
