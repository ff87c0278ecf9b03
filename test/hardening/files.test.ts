/**
 * Wrong files give typed errors that name the file, the tensor or field and what was expected, and
 * never disturb a model that is already loaded. Every case loads through AlbertModel.load from
 * in-memory files, the path a browser or an edge worker takes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AlbertModel } from '../../src/model/albert.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { editHeader, expectAlbertError, expectStillCorrect, fixtureFiles, inMemory, joinSafetensors, splitSafetensors } from './helpers.js';

const { config: tinyConfig, weights: tinyWeights } = fixtureFiles('tiny');
const tinyConfigJson = (): Record<string, unknown> => JSON.parse(tinyConfig);
const EMBEDDING_NORM = 'albert.embeddings.LayerNorm.weight';
const headerLength = Number(new DataView(tinyWeights.buffer, tinyWeights.byteOffset).getBigUint64(0, true));

/** A header nested deeper than JSON.stringify's stack: reporting such a value must not crash. */
const DEEP = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;

let model: AlbertModel;
beforeAll(async () => {
  model = await AlbertModel.load(`${FIXTURES_DIR}tiny`);
});

async function expectLoadError(config: string | object, weights: Uint8Array, code: Parameters<typeof expectAlbertError>[1], message: RegExp) {
  await expectAlbertError(() => AlbertModel.load(inMemory(config, weights)), code, message);
  await expectStillCorrect(model);
}

describe('safetensors errors', () => {
  const invalid = (weights: Uint8Array, message: RegExp) => expectLoadError(tinyConfig, weights, 'SAFETENSORS_INVALID', message);

  it('truncated inside the length field, the header or the data', async () => {
    await invalid(tinyWeights.slice(0, 0), /^model\.safetensors: file is 0 bytes, too short/);
    await invalid(tinyWeights.slice(0, 5), /^model\.safetensors: file is 5 bytes, too short/);
    await invalid(tinyWeights.slice(0, 8 + 100), /^model\.safetensors: header length 3496 exceeds the 100 bytes after the length field \(file truncated\?\)/);
    await invalid(tinyWeights.slice(0, tinyWeights.length - 1), /^model\.safetensors: tensor ".*" ends at data offset \d+, past the end of the \d+-byte data section \(file truncated\?\)/);
  });

  it('header length larger than the file, or absurdly large', async () => {
    const withLength = (length: bigint) => {
      const bytes = tinyWeights.slice();
      new DataView(bytes.buffer).setBigUint64(0, length, true);
      return bytes;
    };
    await invalid(withLength(BigInt(tinyWeights.length)), new RegExp(`header length ${tinyWeights.length} exceeds the ${tinyWeights.length - 8} bytes after the length field`));
    await invalid(withLength(2n ** 40n), /header length 1099511627776 exceeds the 100000000-byte limit \(not a safetensors file\?\)/);
    await invalid(withLength(2n ** 64n - 1n), /exceeds the 100000000-byte limit/);
  });

  it('header not JSON, not UTF-8, or not an object', async () => {
    const garbled = tinyWeights.slice();
    garbled.fill(0x7b, 8, 8 + 16); // "{{{{…"
    await invalid(garbled, /^model\.safetensors: header is not valid JSON/);
    const notUtf8 = tinyWeights.slice();
    notUtf8[8 + 20] = 0xff;
    await invalid(notUtf8, /^model\.safetensors: header is not valid UTF-8/);
    const { data } = splitSafetensors(tinyWeights);
    for (const header of ['[]', '"albert"', '42', 'null']) {
      await invalid(joinSafetensors(header, data), /^model\.safetensors: header must be a JSON object of tensor entries/);
    }
  });

  it('offsets out of range, reversed or malformed', async () => {
    const end = tinyWeights.length - 8 - headerLength;
    await invalid(editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].data_offsets = [end, end + 64])),
      new RegExp(`tensor "${EMBEDDING_NORM}" ends at data offset ${end + 64}, past the end of the ${end}-byte data section`));
    await invalid(editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].data_offsets = [64, 0])),
      new RegExp(`tensor "${EMBEDDING_NORM}" data_offsets must be \\[begin, end\\] integers with 0 <= begin <= end, got \\[64,0\\]`));
    await invalid(editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].data_offsets = [-64, 0])), /data_offsets must be \[begin, end\]/);
    await invalid(editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].data_offsets = [2 ** 60, 2 ** 60 + 64])), /data_offsets must be \[begin, end\]/);
  });

  it('overlapping tensors', async () => {
    const bias = 'albert.embeddings.LayerNorm.bias';
    await invalid(editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].data_offsets = [...h[bias].data_offsets])),
      new RegExp(`tensors "(${bias}|${EMBEDDING_NORM})" and "(${bias}|${EMBEDDING_NORM})" overlap in the data section`));
  });

  it('byte range that does not match dtype × shape', async () => {
    await invalid(editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].shape = [17])),
      new RegExp(`tensor "${EMBEDDING_NORM}" \\(F32 \\[17\\]\\) needs 68 bytes but data_offsets \\[\\d+, \\d+\\] span 64`));
    await invalid(editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].dtype = 'F16')), /\(F16 \[16\]\) needs 32 bytes but data_offsets \[\d+, \d+\] span 64/);
    await invalid(editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].shape = [2 ** 40, 2 ** 40])), /shape \[1099511627776,1099511627776\] is too large/);
  });

  it('unknown dtype, listing the known ones', async () => {
    await invalid(editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].dtype = 'F128')),
      new RegExp(`tensor "${EMBEDDING_NORM}" has unknown dtype "F128" \\(known: BOOL, .*F16, BF16, F32`));
  });

  it('duplicate names, which JSON.parse would silently collapse', async () => {
    const { header, data } = splitSafetensors(tinyWeights);
    const text = JSON.stringify(header).replace('{', `{"${EMBEDDING_NORM}":${JSON.stringify(header[EMBEDDING_NORM])},`);
    await invalid(joinSafetensors(text, data), new RegExp(`header has the key "${EMBEDDING_NORM}" more than once`));
  });

  it('a value nested too deep to print, and a name with a newline, still give a one-line error', async () => {
    await invalid(editHeader(tinyWeights, (h) => `{"t":{"dtype":"F32","shape":${DEEP},"data_offsets":[0,4]},${JSON.stringify(h).slice(1)}`),
      /tensor "t" shape must be an array of non-negative integers, got an array/);
    await invalid(editHeader(tinyWeights, (h) => void (h['bad\nname'] = { dtype: 'F99', shape: [1], data_offsets: [0, 4] })),
      /tensor "bad\\nname" has unknown dtype "F99"/);
  });
});

describe('checkpoint vs config errors', () => {
  const mismatch = (config: string | object, weights: Uint8Array, message: RegExp) => expectLoadError(config, weights, 'CHECKPOINT_MISMATCH', message);

  it('missing tensors are named, all of them', async () => {
    const q = 'albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight';
    const weights = editHeader(tinyWeights, (h) => {
      delete h[EMBEDDING_NORM];
      delete h[q];
    });
    await mismatch(tinyConfig, weights, new RegExp(`^model\\.safetensors does not match config\\.json: missing tensor ${EMBEDDING_NORM}; missing tensor ${q}$`));
  });

  it('a size missing from config.json takes the Hugging Face default, and the checkpoint then says what differs', async () => {
    const config = tinyConfigJson();
    delete config.hidden_size; // AlbertConfig's default is 4096
    await mismatch(config, tinyWeights, /tensor albert\.encoder\.embedding_hidden_mapping_in\.weight has shape \[32,16\], expected \[4096,16\] from config\.json/);
  });

  it('unexpected shapes name the tensor, its shape and the expected one', async () => {
    await mismatch(tinyConfig, editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].shape = [4, 4])),
      new RegExp(`tensor ${EMBEDDING_NORM} has shape \\[4,4\\], expected \\[16\\] from config\\.json`));
    await mismatch({ ...tinyConfigJson(), vocab_size: 511 }, tinyWeights,
      /tensor albert\.embeddings\.word_embeddings\.weight has shape \[512,16\], expected \[511,16\].*tensor predictions\.bias has shape \[512\], expected \[511\]/);
  });

  it('a weight stored in a dtype that cannot become f32 is refused before loading', async () => {
    await mismatch(tinyConfig, editHeader(tinyWeights, (h) => void (h[EMBEDDING_NORM].dtype = 'I32')),
      new RegExp(`tensor ${EMBEDDING_NORM} has dtype I32, expected one of F32, F16, BF16`));
  });

  it('a head that config.json asks for and the file lacks', async () => {
    await mismatch({ ...tinyConfigJson(), architectures: ['AlbertForQuestionAnswering'] }, tinyWeights,
      /missing tensor qa_outputs\.weight \(the question-answering head\); missing tensor qa_outputs\.bias \(the question-answering head\)/);
    await mismatch({ ...tinyConfigJson(), architectures: ['AlbertForTokenClassification'] }, tinyWeights, /missing tensor classifier\.weight \(the classifier head\)/);
    const qa = fixtureFiles('tiny-qa');
    await mismatch({ ...JSON.parse(qa.config), architectures: ['AlbertForMaskedLM'] }, qa.weights, /missing tensor predictions\.dense\.weight \(the masked-LM head\)/);
    await mismatch({ ...JSON.parse(qa.config), architectures: ['AlbertForSequenceClassification'] }, qa.weights, /has no pooler, which AlbertForSequenceClassification classifies from/);
  });

  it('a checkpoint of another model lists the first problems and counts the rest', async () => {
    // tiny-groups has four distinct layers: more problems than a message shows.
    const groups = fixtureFiles('tiny-groups');
    const { header, data } = splitSafetensors(groups.weights);
    const foreign = Object.fromEntries(Object.entries(header).map(([name, entry]) => [name.replace(/^albert\.(?!pooler)/, 'bert.'), entry]));
    const error = await expectAlbertError(() => AlbertModel.load(inMemory(groups.config, joinSafetensors(foreign, data))), 'CHECKPOINT_MISMATCH',
      /missing tensor embeddings\.word_embeddings\.weight; .*; and \d+ more$/);
    expect(error.message.split('; ').length).toBe(21);
    await expectStillCorrect(model);
  });

  it('unexpected extra tensors load with a warning that lists them', async () => {
    const { header, data } = splitSafetensors(tinyWeights);
    const extra = new Float32Array([1, 2, 3]);
    const joined = new Uint8Array(data.length + extra.byteLength);
    joined.set(data);
    joined.set(new Uint8Array(extra.buffer), data.length);
    header['albert.embeddings.position_ids'] = { dtype: 'I64', shape: [0], data_offsets: [data.length, data.length] };
    header['extra.weight'] = { dtype: 'F32', shape: [3], data_offsets: [data.length, data.length + 12] };
    const warnings: string[] = [];
    const loaded = await AlbertModel.load(inMemory(tinyConfig, joinSafetensors(header, joined)), { onWarning: (w) => warnings.push(w) });
    expect(loaded.info.unexpectedTensors.sort()).toEqual(['albert.embeddings.position_ids', 'extra.weight']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^model\.safetensors: 2 tensor\(s\) not used by masked-lm: .*albert\.embeddings\.position_ids/);
    expect(warnings[0]).toMatch(/extra\.weight/);
    await expectStillCorrect(loaded);
  });
});

describe('config errors', () => {
  const invalid = (config: string | object, message: RegExp) => expectLoadError(config, tinyWeights, 'CONFIG_INVALID', message);

  it('not JSON, or not an object', async () => {
    await invalid(tinyConfig.slice(0, 40), /^config\.json: not valid JSON/);
    await invalid('[1, 2]', /^config\.json: must be a JSON object/);
    await invalid(`{"hidden_size": ${DEEP}}`, /^config\.json: hidden_size must be a positive integer, got an array$/);
  });

  it('non-numeric, null or non-positive sizes, naming the field', async () => {
    for (const [field, value] of [['hidden_size', '32'], ['vocab_size', null], ['num_attention_heads', 0], ['intermediate_size', 6.5]] as const) {
      await invalid({ ...tinyConfigJson(), [field]: value }, new RegExp(`^config\\.json: ${field} must be a positive integer, got ${JSON.stringify(value).replace('.', '\\.')}$`));
    }
  });

  it('hidden_size not divisible by num_attention_heads', async () => {
    await invalid({ ...tinyConfigJson(), num_attention_heads: 5 }, /hidden_size 32 is not a multiple of num_attention_heads 5/);
  });

  it('num_hidden_layers not divisible by num_hidden_groups', async () => {
    await invalid({ ...tinyConfigJson(), num_hidden_groups: 2 }, /num_hidden_layers 3 is not a multiple of num_hidden_groups 2/);
  });

  it('unsupported hidden_act or position_embedding_type, naming the supported ones', async () => {
    await invalid({ ...tinyConfigJson(), hidden_act: 'mish' }, /hidden_act "mish" is not supported \(supported: gelu_new, gelu, relu, gelu_fast, quick_gelu, silu, swish\)/);
    await invalid({ ...tinyConfigJson(), position_embedding_type: 'relative_key' }, /position_embedding_type "relative_key" is not supported \(only "absolute"/);
  });

  it('another model_type', async () => {
    await invalid({ ...tinyConfigJson(), model_type: 'bert' }, /model_type is "bert", expected "albert"/);
  });

  it('layer and label counts that would hang or exhaust memory are refused at once', async () => {
    // Shared layers need no more weights, so only the config bounds how long a forward pass runs.
    const start = performance.now();
    await invalid({ ...tinyConfigJson(), num_hidden_layers: 3_000_000_000 }, /num_hidden_layers 3000000000 × inner_group_num 1 layers per forward pass is more than the 1024 supported/);
    await invalid({ ...tinyConfigJson(), inner_group_num: 100_000_000 }, /num_hidden_layers 3 × inner_group_num 100000000 layers per forward pass is more than the 1024 supported/);
    await invalid({ ...tinyConfigJson(), num_labels: 2 ** 50 }, /num_labels 1125899906842624 is more than the 1048576 supported without an id2label/);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
