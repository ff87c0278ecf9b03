/**
 * Wrong forward() calls give typed errors naming the input, the position and what was expected;
 * after each one the same model instance still matches the PyTorch reference.
 */
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AlbertErrorCode } from '../../src/errors.js';
import { AlbertModel, type ForwardInputs, type ForwardOptions } from '../../src/model/albert.js';
import { expectedOf, FIXTURES_DIR, inputsOf, mismatch } from '../helpers/fixtures.js';
import { expectAlbertError, expectStillCorrect, rowSlice } from './helpers.js';

let tiny: AlbertModel;
beforeAll(async () => {
  tiny = await AlbertModel.load(`${FIXTURES_DIR}tiny`);
});
let base: Promise<AlbertModel> | undefined;
const baseModel = () => (base ??= AlbertModel.load(`${FIXTURES_DIR}base`));

/** Asserts the call fails with `code` and a message matching `message`, then that the model still works. */
async function expectCallError(inputs: unknown, code: AlbertErrorCode, message: RegExp, options?: unknown) {
  await expectAlbertError(() => tiny.forward(inputs as ForwardInputs, options as ForwardOptions), code, message);
  await expectStillCorrect(tiny);
}
const invalid = (inputs: unknown, message: RegExp) => expectCallError(inputs, 'INPUT_INVALID', message);

// tiny: vocab_size 512, type_vocab_size 2, max_position_embeddings 64.
describe('input errors', () => {
  it('ids outside the vocabulary, negative, or not integers', async () => {
    await invalid({ input_ids: [[2, 512, 3]] }, /^input_ids\[0\]\[1\] is 512, expected a token id in \[0, 512\) \(vocab_size\)$/);
    await invalid({ input_ids: [[2, 5, 3], [2, -1, 3]] }, /^input_ids\[1\]\[1\] is -1, expected a token id in \[0, 512\)/);
    await invalid({ input_ids: [[2, 2 ** 32 + 5, 3]] }, /input_ids\[0\]\[1\] is 4294967301, expected a token id/);
    await invalid({ input_ids: [[2, 2n ** 70n]] }, /input_ids\[0\]\[1\] is 1180591620717411303424, expected a token id/);
    const shown: [unknown, string][] = [[1.5, '1.5'], [NaN, 'NaN'], ['7', '"7"'], [null, 'null'], [true, 'true'], [[3], '[3]'], [undefined, 'undefined']];
    for (const [bad, text] of shown) {
      const error = await expectAlbertError(() => tiny.forward({ input_ids: [[2, bad]] } as never), 'INPUT_INVALID');
      expect(error.message).toBe(`input_ids[0][1] is ${text}, expected a token id in [0, 512) (vocab_size)`);
    }
    await expectStillCorrect(tiny);
  });

  it('token_type_ids at or above type_vocab_size', async () => {
    await invalid({ input_ids: [[2, 7, 3]], token_type_ids: [[0, 1, 2]] }, /^token_type_ids\[0\]\[2\] is 2, expected a token type in \[0, 2\) \(type_vocab_size\)$/);
    await invalid({ input_ids: [[2, 7, 3]], token_type_ids: [[0, -1, 0]] }, /token_type_ids\[0\]\[1\] is -1/);
  });

  it('sequences longer than max_position_embeddings', async () => {
    await invalid({ input_ids: [Array(65).fill(5)] }, /^input_ids has 65 tokens per row; the model's max_position_embeddings is 64 \(truncate the input\)$/);
  });

  it('ragged batches', async () => {
    await invalid({ input_ids: [[2, 7, 3], [2, 3]] }, /^input_ids is ragged: row 0 has 3 tokens, row 1 has 2; pad the batch/);
    await invalid({ input_ids: [[2, 7, 3]], attention_mask: [[1, 1, 1, 1]] }, /^attention_mask is \[1, 4\] but input_ids is \[1, 3\]$/);
    await invalid({ input_ids: [[2, 7, 3]], token_type_ids: [[0, 0, 0], [0, 0, 0]] }, /^token_type_ids is \[2, 3\] but input_ids is \[1, 3\]$/);
    await invalid({ input_ids: [[2, 7, 3], 5] }, /^input_ids\[1\] is not an array/);
  });

  it('an empty batch or empty rows', async () => {
    await invalid({ input_ids: [] }, /^input_ids is empty \(\[0, 0\]\)/);
    await invalid({ input_ids: [[], []] }, /^input_ids is empty \(\[2, 0\]\)/);
    await invalid({ input_ids: { data: [], dims: [0, 8] } }, /^input_ids is empty \(\[0, 8\]\)/);
    await invalid({}, /^forward\(\) needs \{ input_ids \}/);
    await invalid(null, /^forward\(\) needs \{ input_ids \}/);
  });

  it('tensor-like inputs with dims that are not [batch, sequence] of non-negative integers', async () => {
    await invalid({ input_ids: { data: [2, 3], dims: [-1, -2] } }, /^input_ids must have dims \[batch, sequence\] of non-negative integers, got \[-1,-2\]$/);
    await invalid({ input_ids: { data: [2, 3, 4], dims: [1.5, 2] } }, /must have dims \[batch, sequence\] of non-negative integers, got \[1\.5,2\]/);
    await invalid({ input_ids: { data: [2, 3], dims: [2] } }, /must have dims \[batch, sequence\]/);
    await invalid({ input_ids: { data: [2, 3, 4], dims: [1, 2] } }, /^input_ids has 3 values but dims \[1,2\] need 2$/);
  });

  it('mask values other than 0 and 1', async () => {
    for (const bad of [2, -1, 0.5, true]) {
      await invalid({ input_ids: [[2, 7, 3]], attention_mask: [[1, bad, 1]] }, new RegExp(`^attention_mask\\[0\\]\\[1\\] is ${bad}, expected 0 or 1$`));
    }
  });

  it('outputs the checkpoint cannot give, and logitsAt outside the batch', async () => {
    await expectCallError({ input_ids: [[2, 7, 3]] }, 'OUTPUT_UNAVAILABLE', /output "start_logits" is not available from this masked-lm checkpoint/, { outputs: ['start_logits'] });
    await expectCallError({ input_ids: [[2, 7, 3]] }, 'INPUT_INVALID', /^logitsAt\[1\] is \[0, 3\], outside the batch \[1, 3\]$/, { logitsAt: [[0, 2], [0, 3]] });
  });

  it('logitsAt entries that are not [batch, position] pairs', async () => {
    await expectCallError({ input_ids: [[2, 7, 3]] }, 'INPUT_INVALID', /logitsAt/, { logitsAt: [5] });
  });
  it('outputs that is not an array of names', async () => {
    await expectCallError({ input_ids: [[2, 7, 3]] }, 'INPUT_INVALID', /outputs/, { outputs: 5 });
  });
  it('a logitsAt entry that JSON cannot print', async () => {
    await expectCallError({ input_ids: [[2, 7, 3]] }, 'INPUT_INVALID', /logitsAt\[0\] must be a \[batch, position\] pair, got 5/, { logitsAt: [5n] });
  });
});

describe('a row whose attention_mask is all zeros', () => {
  // Hugging Face adds the f32 minimum to every score of a masked key; when every key is masked all
  // scores round to that same minimum and the softmax is uniform over all positions, padding included.
  // onnxruntime runs the graph exported from Hugging Face on the same weights: an outside reference.
  it('attends uniformly, as Hugging Face does (checked against onnxruntime on base/model.onnx)', async () => {
    const input_ids = [[2, 31, 415, 4, 97, 3, 0, 0], [2, 1000, 2000, 3000, 3, 5, 6, 7]];
    const attention_mask = [[1, 1, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]];
    const token_type_ids = [[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 1, 1]];
    const int64 = (m: number[][]) => new ort.Tensor('int64', BigInt64Array.from(m.flat(), BigInt), [m.length, m[0].length]);
    const session = await ort.InferenceSession.create(`${FIXTURES_DIR}base/model.onnx`, { intraOpNumThreads: 1 });
    const reference = await session.run({ input_ids: int64(input_ids), attention_mask: int64(attention_mask), token_type_ids: int64(token_type_ids) });
    await session.release();

    const base = await baseModel();
    const ours = await base.forward({ input_ids, attention_mask, token_type_ids }, { outputs: ['last_hidden_state', 'pooler_output'] });
    // The README's bound for onnxruntime against the float64 reference is 1e-5; allow the sum of two such errors.
    expect(mismatch(ours.last_hidden_state!.data, reference.last_hidden_state.data as Float32Array, 1e-4)).toBeUndefined();
    expect(mismatch(ours.pooler_output!.data, reference.pooler_output.data as Float32Array, 1e-4)).toBeUndefined();

    // The same row with its mask all ones differs clearly, so the comparison above can tell the two apart.
    const unmasked = await base.forward({ input_ids: [input_ids[1]], token_type_ids: [token_type_ids[1]] }, { outputs: ['last_hidden_state'] });
    const H = base.config.hiddenSize;
    expect(mismatch(rowSlice(ours.last_hidden_state!.data, 8, H, 1), unmasked.last_hidden_state!.data, 1e-2)).toBeDefined();
    await expectStillCorrect(base, 'base');
  });

  it('leaves the other rows of the batch as they are alone', async () => {
    const c = expectedOf('tiny').cases.find((x) => x.name === 'single')!;
    const row = c.inputs.input_ids[0];
    const result = await tiny.forward({ input_ids: [row, row], attention_mask: [row.map(() => 1), row.map(() => 0)] });
    expect(mismatch(rowSlice(result.last_hidden_state!.data, row.length, tiny.config.hiddenSize, 0), c.outputs.last_hidden_state.f64)).toBeUndefined();
    expect(result.last_hidden_state!.data.every(Number.isFinite)).toBe(true);
  });
});

describe('resources', () => {
  it('refuses a batch whose activations cannot fit in wasm memory before allocating, naming the limit', async () => {
    const base = await baseModel();
    // The arena is private; its memory is what "nothing allocated" is about.
    const memory = (base as unknown as { arena: { memory: WebAssembly.Memory } }).arena.memory;
    await base.forward({ input_ids: [[2, 3]] });
    const before = memory.buffer.byteLength;
    // About 3.5 KiB of activations per token of base without a head output: 4.3 GiB here.
    const input_ids = Array.from({ length: 2500 }, () => Array(512).fill(5));
    await expectAlbertError(() => base.forward({ input_ids }, { outputs: ['last_hidden_state'] }), 'OUT_OF_MEMORY',
      /^a batch of 2500 × 512 tokens needs [\d.]+ GiB of activations; wasm memory has room for [\d.]+ GiB beside the weights$/);
    expect(memory.buffer.byteLength).toBe(before);
    await expectStillCorrect(base, 'base');
  });
});

describe('overlapping calls on one instance', () => {
  it('each of many concurrent forward() calls, valid or not, gets its own result', async () => {
    const cases = expectedOf('tiny').cases;
    const calls = Array.from({ length: 40 }, (_, i) => {
      if (i % 5 === 4) return { bad: true as const, promise: tiny.forward({ input_ids: [[2, 9999]] }) };
      const c = cases[i % cases.length];
      return { bad: false as const, c, promise: tiny.forward(inputsOf(c)) };
    });
    const settled = await Promise.allSettled(calls.map((call) => call.promise));
    settled.forEach((outcome, i) => {
      const call = calls[i];
      if (call.bad) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason.code).toBe('INPUT_INVALID');
        return;
      }
      expect(outcome.status).toBe('fulfilled');
      const result = (outcome as PromiseFulfilledResult<Awaited<ReturnType<AlbertModel['forward']>>>).value;
      for (const name of ['last_hidden_state', 'pooler_output', 'logits'] as const) {
        expect(mismatch(result[name]!.data, call.c.outputs[name].f64), `call ${i} (${call.c.name}) ${name}`).toBeUndefined();
      }
    });
  });
});
