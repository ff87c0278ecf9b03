/**
 * From token sequences to model inputs, with Hugging Face's semantics (tokenizers' Encoding,
 * truncate_encodings, TemplateProcessing and pad_encodings, as AlbertTokenizerFast uses them):
 * `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]`, type ids 0 up to the first [SEP] and 1 after it,
 * truncation budgets that count the special tokens, overflowing windows with `stride` tokens of
 * overlap, and right padding.
 */
import { AlbertError } from '../errors.js';

export interface EncodeOptions {
  /** Second sequence of a pair (text_pair). */
  pair?: string;
  /** Add [CLS] and [SEP]. Default true. */
  addSpecialTokens?: boolean;
  /** true means 'longest_first'. Default: no truncation, unless maxLength is given without padding. */
  truncation?: boolean | 'longest_first' | 'only_first' | 'only_second';
  /** Length limit for truncation and for padding 'max_length'; default the model's maximum (512). */
  maxLength?: number;
  /** true means 'longest' (the longest encoding of the batch). Default false. */
  padding?: boolean | 'longest' | 'max_length';
  /** Tokens shared by consecutive overflowing windows. Default 0. */
  stride?: number;
  /** Keep what truncation cut off as further windows in `overflowing`. Default false. */
  returnOverflowing?: boolean;
}

export interface Encoding {
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  tokens: string[];
  /** [start, end) UTF-16 indices into the original text of the token's sequence; [0, 0] for special tokens and padding. */
  offsets: [number, number][];
  special_tokens_mask: number[];
  /** 0 or 1 for the tokens of the first or second sequence, null for special tokens and padding. */
  sequence_ids: (number | null)[];
  /** Present when returnOverflowing was asked for: the further windows, in Hugging Face's order. */
  overflowing?: Encoding[];
}

/** Tokens of one text, before special tokens are added. */
export interface TokenSequence {
  ids: number[];
  starts: number[];
  ends: number[];
}

export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

export interface ResolvedEncodeOptions {
  addSpecialTokens: boolean;
  truncation: TruncationStrategy | null;
  maxLength: number;
  padding: 'longest' | 'max_length' | null;
  stride: number;
  returnOverflowing: boolean;
}

/** What assembling an Encoding needs from the vocabulary. */
export interface SpecialTokens {
  clsId: number;
  sepId: number;
  padId: number;
  /** The vocabulary, by id. */
  pieces: readonly string[];
}

const invalid = (message: string): never => {
  throw new AlbertError('INPUT_INVALID', message);
};

export function resolveEncodeOptions(options: EncodeOptions, modelMaxLength: number): ResolvedEncodeOptions {
  if (typeof options !== 'object' || options === null) invalid('encode options must be an object');
  const count = (name: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      return invalid(`${name} must be a non-negative integer, got ${String(value)}`);
    }
    return value;
  };
  const maxLength = count('maxLength', options.maxLength, modelMaxLength);
  const stride = count('stride', options.stride, 0);

  let padding: ResolvedEncodeOptions['padding'];
  const p = options.padding;
  if (p === undefined || p === false) padding = null;
  else if (p === true || p === 'longest') padding = 'longest';
  else if (p === 'max_length') padding = 'max_length';
  else return invalid(`padding must be true, false, 'longest' or 'max_length', got ${JSON.stringify(p)}`);

  let truncation: TruncationStrategy | null;
  const t = options.truncation;
  // As transformers does: a max_length without padding and without a truncation choice truncates.
  if (t === undefined) truncation = options.maxLength !== undefined && padding === null ? 'longest_first' : null;
  else if (t === false) truncation = null;
  else if (t === true) truncation = 'longest_first';
  else if (t === 'longest_first' || t === 'only_first' || t === 'only_second') truncation = t;
  else return invalid(`truncation must be a boolean, 'longest_first', 'only_first' or 'only_second', got ${JSON.stringify(t)}`);

  return {
    addSpecialTokens: options.addSpecialTokens ?? true,
    truncation,
    maxLength,
    padding,
    stride,
    returnOverflowing: options.returnOverflowing ?? false,
  };
}

type Window = readonly [from: number, to: number];

/** The encoding of `first` (and `second`), truncated as asked, with its overflowing windows. */
export function buildEncoding(
  first: TokenSequence,
  second: TokenSequence | null,
  options: ResolvedEncodeOptions,
  specials: SpecialTokens,
): Encoding {
  let firstWindows: Window[] = [[0, first.ids.length]];
  let secondWindows: Window[] = second === null ? [] : [[0, second.ids.length]];
  if (options.truncation !== null) {
    const added = options.addSpecialTokens ? (second === null ? 2 : 3) : 0;
    if (options.maxLength < added) {
      invalid(`maxLength ${options.maxLength} leaves no room: ${added} special tokens are added`);
    }
    const [firstLength, secondLength] = truncatedLengths(
      first.ids.length,
      second === null ? null : second.ids.length,
      options.maxLength - added,
      options.truncation,
    );
    firstWindows = truncationWindows(first.ids.length, firstLength, options.stride);
    if (second !== null) secondWindows = truncationWindows(second.ids.length, secondLength!, options.stride);
  }

  const assemble = (a: Window, b: Window | null) =>
    assembleEncoding(first, a, second, b, options.addSpecialTokens, specials);
  const [mainFirst, ...restFirst] = firstWindows;
  const [mainSecond = null, ...restSecond] = secondWindows;
  const encoding = assemble(mainFirst!, mainSecond);
  if (options.returnOverflowing) {
    // Encoding::merge_with's order: each overflow of A with B and with each overflow of B, then A with each overflow of B.
    const overflowing: Encoding[] = [];
    for (const a of restFirst) {
      overflowing.push(assemble(a, mainSecond));
      for (const b of restSecond) overflowing.push(assemble(a, b));
    }
    for (const b of restSecond) overflowing.push(assemble(mainFirst!, b));
    encoding.overflowing = overflowing;
  }
  return encoding;
}

/** truncate_encodings: how many tokens of each sequence fit in `budget`. */
function truncatedLengths(
  n1: number,
  n2: number | null,
  budget: number,
  strategy: TruncationStrategy,
): [number, number | null] {
  const total = n1 + (n2 ?? 0);
  if (total <= budget) return [n1, n2];
  const excess = total - budget;
  if (strategy === 'longest_first') {
    if (n2 === null) return [budget, null];
    // Shorten the longer sequence first; when both must give, split the budget evenly.
    const shorter = Math.min(n1, n2);
    let small = shorter;
    let large = shorter > budget ? shorter : Math.max(shorter, budget - shorter);
    if (small + large > budget) {
      small = Math.floor(budget / 2);
      large = small + (budget % 2);
    }
    return n1 > n2 ? [large, small] : [small, large];
  }
  if (strategy === 'only_second' && n2 === null) {
    return invalid("truncation 'only_second' needs a pair of texts");
  }
  const target = strategy === 'only_first' ? n1 : n2!;
  if (target <= excess) {
    return invalid(
      `truncation '${strategy}' cannot fit maxLength: the ${strategy === 'only_first' ? 'first' : 'second'} ` +
        `sequence has ${target} tokens and ${excess} would have to go`,
    );
  }
  return strategy === 'only_first' ? [n1 - excess, n2] : [n1, n2! - excess];
}

/** Encoding::truncate: the kept window first, then the overflowing windows, `stride` tokens overlapping. */
function truncationWindows(length: number, maxLength: number, stride: number): Window[] {
  if (maxLength >= length) return [[0, length]];
  if (maxLength === 0) return [[0, 0], [0, length]];
  if (stride >= maxLength) {
    invalid(`stride ${stride} must be smaller than the ${maxLength} tokens a sequence keeps after truncation`);
  }
  const windows: Window[] = [];
  for (let start = 0; ; start += maxLength - stride) {
    const stop = Math.min(start + maxLength, length);
    windows.push([start, stop]);
    if (stop === length) return windows;
  }
}

function assembleEncoding(
  first: TokenSequence,
  firstWindow: Window,
  second: TokenSequence | null,
  secondWindow: Window | null,
  addSpecialTokens: boolean,
  specials: SpecialTokens,
): Encoding {
  const e: Encoding = {
    input_ids: [],
    token_type_ids: [],
    attention_mask: [],
    tokens: [],
    offsets: [],
    special_tokens_mask: [],
    sequence_ids: [],
  };
  const pieces = specials.pieces;
  const pushSpecial = (id: number, type: number) => {
    e.input_ids.push(id);
    e.token_type_ids.push(type);
    e.attention_mask.push(1);
    e.tokens.push(pieces[id]!);
    e.offsets.push([0, 0]);
    e.special_tokens_mask.push(1);
    e.sequence_ids.push(null);
  };
  const pushSequence = (sequence: TokenSequence, [from, to]: Window, index: number) => {
    const { ids, starts, ends } = sequence;
    for (let i = from; i < to; i++) {
      const id = ids[i]!;
      e.input_ids.push(id);
      e.token_type_ids.push(index);
      e.attention_mask.push(1);
      e.tokens.push(pieces[id]!);
      e.offsets.push([starts[i]!, ends[i]!]);
      e.special_tokens_mask.push(0);
      e.sequence_ids.push(index);
    }
  };
  if (addSpecialTokens) pushSpecial(specials.clsId, 0);
  pushSequence(first, firstWindow, 0);
  if (addSpecialTokens) pushSpecial(specials.sepId, 0);
  if (second !== null && secondWindow !== null) {
    pushSequence(second, secondWindow, 1);
    if (addSpecialTokens) pushSpecial(specials.sepId, 1);
  }
  return e;
}

/** pad_encodings: right padding of every encoding (and its overflowing windows) to one length. */
export function padEncodings(encodings: Encoding[], options: ResolvedEncodeOptions, specials: SpecialTokens): void {
  if (options.padding === null) return;
  const target =
    options.padding === 'max_length'
      ? options.maxLength
      : encodings.reduce((longest, e) => Math.max(longest, e.input_ids.length), 0);
  const padToken = specials.pieces[specials.padId]!;
  const pad = (e: Encoding) => {
    e.overflowing?.forEach(pad);
    for (let i = e.input_ids.length; i < target; i++) {
      e.input_ids.push(specials.padId);
      e.token_type_ids.push(0);
      e.attention_mask.push(0);
      e.tokens.push(padToken);
      e.offsets.push([0, 0]);
      e.special_tokens_mask.push(1);
      e.sequence_ids.push(null);
    }
  };
  encodings.forEach(pad);
}
