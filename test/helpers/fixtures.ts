import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared, read-only reference material beside the repository (never copied into it). */
export const SHARED_DIR = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const FIXTURES_DIR = `${SHARED_DIR}fixtures/`;
export const BASE_V2_DIR = `${SHARED_DIR}models/albert-base-v2/`;

export interface StoredTensor {
  shape: number[];
  f64: number[];
  f32: number[];
  max_abs_diff_f32_vs_f64: number;
}

export interface FixtureCase {
  name: string;
  description: string;
  inputs: { input_ids: number[][]; attention_mask: number[][] | null; token_type_ids: number[][] | null };
  valid_positions: number[][];
  outputs: Record<string, any>;
}

export interface Expected {
  checkpoint: string;
  architecture: string;
  cases: FixtureCase[];
}

const cache = new Map<string, Expected>();
export function expectedOf(fixture: string): Expected {
  if (!cache.has(fixture)) cache.set(fixture, JSON.parse(readFileSync(`${FIXTURES_DIR}${fixture}/expected.json`, 'utf8')));
  return cache.get(fixture)!;
}

/** Inputs as the fixture gives them; null means the argument was omitted. */
export function inputsOf(c: FixtureCase) {
  const { input_ids, attention_mask, token_type_ids } = c.inputs;
  return {
    input_ids,
    ...(attention_mask ? { attention_mask } : {}),
    ...(token_type_ids ? { token_type_ids } : {}),
  };
}

/**
 * The project's tolerance: each value within 1e-4 absolute or relative of the float64 reference.
 * Returns a description of the worst offender, or undefined when all pass.
 */
export function mismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length} vs expected ${expected.length}`;
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    const err = diff === 0 ? 0 : Math.min(diff, diff / Math.abs(expected[i]));
    if (!(err <= tol) && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = err;
    }
  }
  return worst < 0 ? undefined : `index ${worst}: ${actual[worst]} vs ${expected[worst]} (error ${worstErr})`;
}

/** The ids Hugging Face's test suite publishes for albert-base-v2 (../shared/models/albert-base-v2/README.md). */
export const PUBLISHED_IDS = [
  { text: 'This is a test', addSpecialTokens: false, ids: [48, 25, 21, 1289] },
  { text: 'The quick brown fox jumps over the lazy dog.', addSpecialTokens: true, ids: [2, 14, 2231, 886, 2385, 17659, 84, 14, 16792, 1952, 9, 3] },
  {
    text: 'BERT is designed to pre-train deep bidirectional representations from unlabeled text by jointly conditioning on both left and right context in all layers.',
    addSpecialTokens: true,
    ids: [2, 11502, 25, 1006, 20, 782, 8, 11809, 855, 1732, 19393, 18667, 37, 367, 21018, 69, 1854, 34, 11860, 19124, 27, 156, 225, 17, 193, 4141, 19, 65, 9124, 9, 3],
  },
  { text: 'Paris is the [MASK] of France.', addSpecialTokens: true, ids: [2, 1162, 25, 14, 4, 16, 714, 9, 3] },
];
