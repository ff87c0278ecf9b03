import { describe, expect, it, beforeAll } from 'vitest';
import { AlbertModel } from '../src/model/albert.js';
import { expectedOf, FIXTURES_DIR, inputsOf, mismatch, type StoredTensor } from './helpers/fixtures.js';

const TINY = ['tiny', 'tiny-decoder-keys', 'tiny-groups', 'tiny-qa', 'tiny-tok'];
const HEAD_OUTPUTS = ['last_hidden_state', 'pooler_output', 'logits', 'start_logits', 'end_logits'] as const;

function expectClose(actual: { data: Float32Array; dims: number[] } | undefined, stored: StoredTensor, what: string) {
  expect(actual, `${what} missing`).toBeDefined();
  expect(actual!.dims, `${what} dims`).toEqual(stored.shape);
  expect(mismatch(actual!.data, stored.f64), what).toBeUndefined();
}

describe.each(TINY)('fixture %s matches the PyTorch reference', (fixture) => {
  // tiny-decoder-keys carries the same weights as tiny plus the tied decoder alias keys.
  const expected = expectedOf(fixture === 'tiny-decoder-keys' ? 'tiny' : fixture);
  let model: AlbertModel;
  const warnings: string[] = [];
  beforeAll(async () => {
    model = await AlbertModel.load(`${FIXTURES_DIR}${fixture}`, { onWarning: (m) => warnings.push(m) });
  });

  it('loads without unused tensors', () => {
    expect(warnings).toEqual([]);
    expect(model.info.unexpectedTensors).toEqual([]);
  });

  it.each(expected.cases.map((c) => [c.name, c] as const))('case %s', async (_, c) => {
    const outputs = model.outputNames;
    const result = await model.forward(inputsOf(c), { outputs });
    for (const name of HEAD_OUTPUTS) {
      if (c.outputs[name]) expectClose(result[name], c.outputs[name], name);
    }
    const hidden = c.outputs.hidden_states as StoredTensor[];
    const stacked = result.hidden_states!;
    expect(stacked.dims).toEqual([hidden.length, ...hidden[0].shape]);
    const per = stacked.data.length / hidden.length;
    hidden.forEach((h, i) => {
      expect(mismatch(stacked.data.subarray(i * per, (i + 1) * per), h.f64), `hidden_states[${i}]`).toBeUndefined();
    });
  });
});

describe('batches', () => {
  let model: AlbertModel;
  beforeAll(async () => {
    model = await AlbertModel.load(`${FIXTURES_DIR}tiny`);
  });

  it('gives a padded row the result of the same row alone', async () => {
    const row = [2, 31, 415, 4, 97, 3];
    const alone = await model.forward({ input_ids: [row] });
    const padded = await model.forward({
      input_ids: [[...row, 0, 0, 0], [2, 8, 9, 10, 11, 12, 13, 14, 3]],
      attention_mask: [[1, 1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1]],
    });
    const H = model.config.hiddenSize;
    const V = model.config.vocabSize;
    expect(mismatch(padded.last_hidden_state!.data.subarray(0, row.length * H), alone.last_hidden_state!.data, 1e-6)).toBeUndefined();
    expect(mismatch(padded.pooler_output!.data.subarray(0, H), alone.pooler_output!.data, 1e-6)).toBeUndefined();
    expect(mismatch(padded.logits!.data.subarray(0, row.length * V), alone.logits!.data, 1e-6)).toBeUndefined();
  });

  it('gives identical bits for the same input twice, whatever ran in between', async () => {
    const input = { input_ids: [[2, 31, 415, 4, 97, 260, 12, 3]] };
    const first = await model.forward(input);
    await model.forward({ input_ids: Array.from({ length: 3 }, () => Array.from({ length: 40 }, (_, i) => (i * 7) % 512)) });
    const second = await model.forward(input);
    expect(Buffer.from(second.last_hidden_state!.data.buffer)).toEqual(Buffer.from(first.last_hidden_state!.data.buffer));
    expect(Buffer.from(second.logits!.data.buffer)).toEqual(Buffer.from(first.logits!.data.buffer));
  });

  // A layer runs about 128 rows at a time: these 20 sequences of 64 tokens go two at a time, each
  // against its own attention mask.
  it.each(['f32', 'int8'] as const)('gives each sequence of a batch run in chunks its result alone (%s)', async (dtype) => {
    const m = dtype === 'f32' ? model : await AlbertModel.load(`${FIXTURES_DIR}tiny`, { dtype });
    const B = 20;
    const L = 64;
    const H = m.config.hiddenSize;
    const ids = Array.from({ length: B }, (_, b) => Array.from({ length: L }, (_, t) => (t === 0 ? 2 : 5 + ((b * 131 + t * 17) % 500))));
    const mask = ids.map((_, b) => Array.from({ length: L }, (_, t) => (t < L - b ? 1 : 0)));
    const outputs = ['last_hidden_state', 'hidden_states'] as const;
    const all = await m.forward({ input_ids: ids, attention_mask: mask }, { outputs: [...outputs] });
    const layers = all.hidden_states!.dims[0];
    for (const b of [0, 15, 16, 19]) {
      const alone = await m.forward({ input_ids: [ids[b]], attention_mask: [mask[b]] }, { outputs: [...outputs] });
      const row = all.last_hidden_state!.data.subarray(b * L * H, (b + 1) * L * H);
      expect(mismatch(row, alone.last_hidden_state!.data, 1e-6), `sequence ${b}`).toBeUndefined();
      for (let i = 0; i < layers; i++) {
        const inBatch = all.hidden_states!.data.subarray((i * B + b) * L * H, (i * B + b + 1) * L * H);
        const single = alone.hidden_states!.data.subarray(i * L * H, (i + 1) * L * H);
        expect(mismatch(inBatch, single, 1e-6), `sequence ${b}, hidden_states[${i}]`).toBeUndefined();
      }
    }
  });

  it('computes masked-LM logits only at chosen positions', async () => {
    const input = { input_ids: [[2, 31, 415, 4, 97, 3], [2, 4, 4, 9, 0, 0]], attention_mask: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]] };
    const all = await model.forward(input, { outputs: ['logits'] });
    const some = await model.forward(input, { outputs: ['logits'], logitsAt: [[0, 3], [1, 1], [1, 2]] });
    const V = model.config.vocabSize;
    expect(some.logits!.dims).toEqual([3, V]);
    [[0, 3], [1, 1], [1, 2]].forEach(([b, t], i) => {
      const want = all.logits!.data.subarray((b * 6 + t) * V, (b * 6 + t + 1) * V);
      expect(mismatch(some.logits!.data.subarray(i * V, (i + 1) * V), want, 1e-6)).toBeUndefined();
    });
  });
});

describe('fixture base (albert-base-v2 geometry)', () => {
  const expected = expectedOf('base');
  let model: AlbertModel;
  beforeAll(async () => {
    model = await AlbertModel.load(`${FIXTURES_DIR}base`);
  });

  it.each(expected.cases.map((c) => [c.name, c] as const))('case %s', async (_, c) => {
    const result = await model.forward(inputsOf(c), { outputs: ['last_hidden_state', 'pooler_output', 'logits'] });
    const out = c.outputs;
    if (out.last_hidden_state) expectClose(result.last_hidden_state, out.last_hidden_state, 'last_hidden_state');
    expectClose(result.pooler_output, out.pooler_output, 'pooler_output');

    const [B, L, H] = result.last_hidden_state!.dims;
    const hs = result.last_hidden_state!.data;
    const first16: number[] = [];
    const l2: number[] = [];
    const mean: number[] = [];
    for (let t = 0; t < B * L; t++) {
      const row = hs.subarray(t * H, (t + 1) * H);
      first16.push(...row.subarray(0, 16));
      l2.push(Math.sqrt(row.reduce((s, v) => s + v * v, 0)));
      mean.push(row.reduce((s, v) => s + v, 0) / H);
    }
    const summary = out.last_hidden_state_summary;
    expect(mismatch(first16, summary.first16.f64), 'first16').toBeUndefined();
    expect(mismatch(l2, summary.token_l2.f64), 'token_l2').toBeUndefined();
    expect(mismatch(mean, summary.token_mean.f64), 'token_mean').toBeUndefined();

    const V = model.config.vocabSize;
    const logits = result.logits!.data;
    const stats = { argmax: [] as number[], max: [] as number[], logsumexp: [] as number[], mean: [] as number[] };
    for (let t = 0; t < B * L; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      let arg = 0;
      for (let v = 1; v < V; v++) if (row[v] > row[arg]) arg = v;
      let sum = 0;
      let total = 0;
      for (let v = 0; v < V; v++) {
        sum += Math.exp(row[v] - row[arg]);
        total += row[v];
      }
      stats.argmax.push(arg);
      stats.max.push(row[arg]);
      stats.logsumexp.push(row[arg] + Math.log(sum));
      stats.mean.push(total / V);
    }
    const per = out.mlm.per_position;
    expect(stats.argmax).toEqual(per.argmax_f64.flat());
    expect(mismatch(stats.max, per.max.f64), 'max').toBeUndefined();
    expect(mismatch(stats.logsumexp, per.logsumexp.f64), 'logsumexp').toBeUndefined();
    expect(mismatch(stats.mean, per.mean.f64), 'mean').toBeUndefined();

    for (const m of out.mlm.masked_positions) {
      const row = logits.subarray((m.batch * L + m.position) * V, (m.batch * L + m.position + 1) * V);
      const top5 = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 5);
      expect(top5).toEqual(m.top5_ids);
      expect(mismatch(top5.map((i) => row[i]), m.top5_f64)).toBeUndefined();
      expect(mismatch(m.probe_ids.map((i: number) => row[i]), m.probe_f64)).toBeUndefined();
    }
  });
});
