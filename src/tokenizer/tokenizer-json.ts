/**
 * Reader for Hugging Face `tokenizer.json` files of ALBERT's kind, as transformers' AlbertConverter
 * writes them: a Unigram model (the SentencePiece vocabulary and scores), a normalizer Sequence
 * (Replace `` and '', NFKD, StripAccents, Lowercase, Precompiled charsmap, Replace " {2,}"), a
 * Metaspace pre-tokenizer and the added special tokens. It yields the same model that
 * sentencepiece-model.ts reads from `spiece.model`, so both files encode through one engine.
 */
import { AlbertError } from '../errors.js';
import type { AlbertTextOptions } from './preprocess.js';
import { PieceType, validateSentencePieceModel, type SentencePieceModel } from './sentencepiece-model.js';
import { isPythonDigit } from './unicode.js';

/** A token matched in the text before normalization (Hugging Face's AddedToken). */
export interface AddedToken {
  content: string;
  id: number;
  /** Swallows the whitespace on its left. */
  lstrip: boolean;
  /** Swallows the whitespace on its right. */
  rstrip: boolean;
}

export interface TokenizerDefinition {
  model: SentencePieceModel;
  text: AlbertTextOptions;
  addedTokens: AddedToken[];
}

/**
 * AlbertConverter lowers by 100 the score of every piece that ends in a digit and a comma, to make
 * the fast tokenizer avoid the pieces that the slow one re-splits. We apply the re-split itself,
 * so the SentencePiece score is restored.
 */
const CONVERTER_DIGIT_COMMA_PENALTY = 100;

/** `json` is the file's text, its bytes, or the parsed object. */
export function readTokenizerJson(json: string | Uint8Array | object, fileName: string): TokenizerDefinition {
  const fail = (what: string): never => {
    throw new AlbertError('TOKENIZER_INVALID', `${fileName}: ${what}`);
  };
  let root: unknown = json;
  if (typeof json === 'string' || json instanceof Uint8Array) {
    try {
      root = JSON.parse(typeof json === 'string' ? json : new TextDecoder().decode(json));
    } catch (cause) {
      throw new AlbertError('TOKENIZER_INVALID', `${fileName} is not JSON: ${(cause as Error).message}`, { cause });
    }
  }
  if (!isObject(root)) return fail('expected a JSON object at the top level');

  const model = root['model'];
  if (!isObject(model)) return fail('has no "model" object');
  if (model['type'] !== 'Unigram') {
    return fail(`model.type is ${JSON.stringify(model['type'])}; only "Unigram" (SentencePiece) models are supported`);
  }
  if (model['byte_fallback'] === true) fail('model.byte_fallback is not supported');
  const vocab = model['vocab'];
  if (!Array.isArray(vocab) || vocab.length === 0) return fail('model.vocab must be a non-empty array of [piece, score]');
  const pieces: string[] = [];
  const scores = new Float32Array(vocab.length);
  vocab.forEach((entry: unknown, id) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || entry[0] === '' || typeof entry[1] !== 'number') {
      fail(`model.vocab[${id}] must be [non-empty string, number]`);
    }
    const [piece, score] = entry as [string, number];
    pieces.push(piece);
    scores[id] = endsInDigitComma(piece) ? score + CONVERTER_DIGIT_COMMA_PENALTY : score;
  });
  const unkId = model['unk_id'];
  if (typeof unkId !== 'number' || !Number.isInteger(unkId) || unkId < 0 || unkId >= pieces.length) {
    return fail(`model.unk_id must be the id of a piece, got ${JSON.stringify(unkId)}`);
  }

  const types = new Uint8Array(pieces.length).fill(PieceType.NORMAL);
  const addedTokens: AddedToken[] = [];
  const added = root['added_tokens'] ?? [];
  if (!Array.isArray(added)) return fail('added_tokens must be an array');
  added.forEach((token: unknown, i) => {
    const where = `added_tokens[${i}]`;
    if (!isObject(token) || typeof token['content'] !== 'string' || typeof token['id'] !== 'number') {
      return fail(`${where} must have a string "content" and a number "id"`);
    }
    const { content, id } = token as { content: string; id: number };
    if (pieces[id] !== content) {
      return fail(`${where} "${content}" (id ${id}) is not the vocabulary piece of that id; extra added tokens are not supported`);
    }
    if (token['single_word'] === true) fail(`${where} "${content}": single_word added tokens are not supported`);
    types[id] = token['special'] === false ? PieceType.USER_DEFINED : PieceType.CONTROL;
    addedTokens.push({ content, id, lstrip: token['lstrip'] === true, rstrip: token['rstrip'] === true });
  });
  types[unkId] = PieceType.UNKNOWN;

  const text: AlbertTextOptions = { doLowerCase: false, keepAccents: true, removeSpace: true };
  let precompiledCharsmap: Uint8Array | null = null;
  for (const [i, normalizer] of flatten(root['normalizer'], 'normalizers').entries()) {
    const where = `normalizer ${i} (${JSON.stringify(normalizer['type'])})`;
    switch (normalizer['type']) {
      case 'NFKD':
      case 'StripAccents':
        text.keepAccents = false;
        break;
      case 'Lowercase':
        text.doLowerCase = true;
        break;
      case 'Precompiled': {
        const encoded = normalizer['precompiled_charsmap'];
        if (encoded === null || encoded === undefined || encoded === '') break;
        if (typeof encoded !== 'string') return fail(`${where}: precompiled_charsmap must be a base64 string`);
        precompiledCharsmap = decodeBase64(encoded, () => fail(`${where}: precompiled_charsmap is not valid base64`));
        break;
      }
      case 'Replace':
        // The quote replacements and the collapsing of spaces are ALBERT's preprocessing, applied anyway.
        break;
      default:
        return fail(`${where} is not part of ALBERT's normalization`);
    }
  }

  let addDummyPrefix = true;
  for (const preTokenizer of flatten(root['pre_tokenizer'], 'pretokenizers')) {
    if (preTokenizer['type'] !== 'Metaspace') continue;
    if (preTokenizer['replacement'] !== undefined && preTokenizer['replacement'] !== '\u2581') {
      fail(`the Metaspace pre-tokenizer's replacement is ${JSON.stringify(preTokenizer['replacement'])}; expected "\u2581"`);
    }
    addDummyPrefix = preTokenizer['prepend_scheme'] !== 'never' && preTokenizer['add_prefix_space'] !== false;
  }

  const sentencePieceModel: SentencePieceModel = {
    pieces,
    scores,
    types,
    normalizer: { precompiledCharsmap, addDummyPrefix, removeExtraWhitespaces: true },
  };
  validateSentencePieceModel(sentencePieceModel, fileName);
  return { model: sentencePieceModel, text, addedTokens };
}

/** transformers' check_number_comma, negated: at least two characters, a digit then a comma at the end. */
function endsInDigitComma(piece: string): boolean {
  const chars = Array.from(piece);
  return chars.length >= 2 && chars[chars.length - 1] === ',' && isPythonDigit(chars[chars.length - 2]!.codePointAt(0)!);
}

/** A component or a Sequence of them, as a flat list. */
function flatten(component: unknown, listKey: string): Record<string, unknown>[] {
  if (!isObject(component)) return [];
  if (component['type'] === 'Sequence' && Array.isArray(component[listKey])) {
    return (component[listKey] as unknown[]).flatMap((c) => flatten(c, listKey));
  }
  return [component];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeBase64(encoded: string, fail: () => never): Uint8Array {
  let binary: string;
  try {
    binary = atob(encoded);
  } catch {
    return fail();
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
