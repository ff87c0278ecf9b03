/**
 * Property tests on forward(): a right-padded batch gives each row what the row gives alone, and any
 * value at all passed as inputs either runs or is refused with an AlbertError, leaving the model intact.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlbertError } from '../../src/errors.js';
import { AlbertModel, type ForwardInputs } from '../../src/model/albert.js';
import { FIXTURES_DIR, mismatch } from '../helpers/fixtures.js';
import { expectStillCorrect, propertyRuns, rowSlice } from './helpers.js';

let model: AlbertModel;
beforeAll(async () => {
  model = await AlbertModel.load(`${FIXTURES_DIR}tiny`);
});

// tiny: vocab 512, two token types, up to 64 positions.
const row = fc.integer({ min: 1, max: 24 }).chain((length) =>
  fc.record({
    ids: fc.array(fc.integer({ min: 0, max: 511 }), { minLength: length, maxLength: length }),
    types: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: length, maxLength: length }),
  }),
);

describe('batches', () => {
  it('each row of a right-padded batch matches the same row run alone (within 1e-5)', async () => {
    const { hiddenSize: H, vocabSize: V } = model.config;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 4 }), async (rows, extraPadding) => {
        const L = Math.max(...rows.map((r) => r.ids.length)) + extraPadding;
        const pad = (values: number[], fill: number) => [...values, ...Array(L - values.length).fill(fill)];
        const batch = await model.forward({
          input_ids: rows.map((r) => pad(r.ids, 0)),
          token_type_ids: rows.map((r) => pad(r.types, 0)),
          attention_mask: rows.map((r) => pad(r.ids.map(() => 1), 0)),
        });
        for (const [b, r] of rows.entries()) {
          const alone = await model.forward({ input_ids: [r.ids], token_type_ids: [r.types] });
          const n = r.ids.length;
          expect(mismatch(rowSlice(batch.last_hidden_state!.data, L, H, b, n), alone.last_hidden_state!.data, 1e-5), `row ${b} hidden`).toBeUndefined();
          expect(mismatch(batch.pooler_output!.data.subarray(b * H, (b + 1) * H), alone.pooler_output!.data, 1e-5), `row ${b} pooler`).toBeUndefined();
          expect(mismatch(rowSlice(batch.logits!.data, L, V, b, n), alone.logits!.data, 1e-5), `row ${b} logits`).toBeUndefined();
        }
      }),
      propertyRuns(40),
    );
  });
});

describe('any inputs', () => {
  const value = fc.oneof(
    fc.integer({ min: -2, max: 600 }),
    fc.constantFrom(0, 1, 2, -0, 0.5, NaN, Infinity, 2 ** 31, 2 ** 53, 5n, -1n, 2n ** 64n, '3', null, undefined, true, [], {}),
  );
  const matrix = fc.oneof(
    fc.array(fc.array(value, { maxLength: 6 }), { maxLength: 4 }),
    fc.array(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
    fc.record({ data: fc.array(value, { maxLength: 12 }), dims: fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 3 }) }),
    // Tensor-likes whose data length agrees with dims that are negative or fractional.
    fc.tuple(fc.constantFrom(-2, -1, 0, 1, 1.5, 2, 3), fc.constantFrom(-2, -1, 0.5, 1, 2, 3)).chain((dims) => {
      const length = Math.round(Math.abs(dims[0] * dims[1]));
      return fc.record({ dims: fc.constant(dims), data: fc.array(fc.integer({ min: 0, max: 511 }), { minLength: length, maxLength: length }) });
    }),
    fc.anything({ maxDepth: 2 }),
  );
  const inputs = fc.oneof(
    fc.record({ input_ids: matrix }),
    fc.record({ input_ids: matrix, attention_mask: matrix, token_type_ids: matrix }, { requiredKeys: ['input_ids'] }),
    fc.anything({ maxDepth: 2 }),
  );

  it('run with well-formed outputs or are refused with an AlbertError, and the model stays correct', async () => {
    const H = model.config.hiddenSize;
    let ran = 0;
    await fc.assert(
      fc.asyncProperty(inputs, async (x) => {
        try {
          const { last_hidden_state: out } = await model.forward(x as ForwardInputs, { outputs: ['last_hidden_state'] });
          const [B, L, width] = out!.dims;
          expect(Number.isInteger(B) && B > 0 && Number.isInteger(L) && L > 0 && width === H, `dims [${out!.dims}]`).toBe(true);
          expect(out!.data.length).toBe(B * L * H);
          expect(out!.data.every(Number.isFinite)).toBe(true);
          ran++;
        } catch (error) {
          if (!(error instanceof AlbertError)) throw error;
          expect(error.code).toBe('INPUT_INVALID');
        }
      }),
      propertyRuns(400),
    );
    expect(ran).toBeGreaterThan(0);
    await expectStillCorrect(model);
  });
});
