import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { BASE_V2_DIR } from '../helpers/fixtures.js';
import { AlbertTokenizer } from '../../src/tokenizer/index.js';

export const SPIECE_MODEL_PATH = `${BASE_V2_DIR}spiece.model`;

export function spieceModelBytes(): Uint8Array {
  return new Uint8Array(readFileSync(SPIECE_MODEL_PATH));
}

/** The tokenizer.json that transformers' AlbertConverter makes of spiece.model (see generate_vectors.py). */
export function tokenizerJsonText(): string {
  return gunzipSync(readFileSync(new URL('./albert-base-v2.tokenizer.json.gz', import.meta.url))).toString('utf8');
}

export interface VectorLine {
  category: string;
  text: string;
  /** Python AlbertTokenizer, default options, no special tokens. */
  ids: number[];
  /** Python AlbertTokenizer with keep_accents, no lowercasing, no remove_space. */
  raw_ids: number[];
  /** SentencePiece's own [begin, end) of each piece in the raw configuration, in UTF-16 units. */
  raw_offsets?: [number, number][];
}

export interface Vectors {
  sentencepiece: string;
  lines: VectorLine[];
  synthetic: { name: string; model: string; cases: { text: string; ids: number[] }[] }[];
}

let vectors: Vectors | null = null;
export function referenceVectors(): Vectors {
  vectors ??= JSON.parse(gunzipSync(readFileSync(new URL('./vectors.json.gz', import.meta.url))).toString('utf8'));
  return vectors!;
}

let base: AlbertTokenizer | null = null;
/** albert-base-v2 from spiece.model with AlbertTokenizer's default options, built once. */
export function albertBaseV2(): AlbertTokenizer {
  base ??= AlbertTokenizer.fromSentencePiece(spieceModelBytes());
  return base;
}
