import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlbertError } from '../../src/errors.js';
import { parseConfig, type AlbertConfig } from '../../src/io/config.js';
import { fileInMemory, openLocalFile } from '../../src/io/files.js';
import { SafeTensors } from '../../src/io/safetensors.js';

const FIXTURES = new URL('../../../shared/fixtures/', import.meta.url);
const scratchDir = mkdtempSync(join(tmpdir(), 'albert-safetensors-'));
afterAll(() => rmSync(scratchDir, { recursive: true, force: true }));

const parse = (bytes: Uint8Array, fileName?: string) => SafeTensors.open(fileInMemory(bytes), fileName);

/** A safetensors file from a header (object or raw JSON text) and a data section. */
function buildFile(header: object | string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const file = new Uint8Array(8 + json.length + data.length);
  new DataView(file.buffer).setUint32(0, json.length, true);
  file.set(json, 8);
  file.set(data, 8 + json.length);
  return file;
}

/** The same bytes placed `misalignment` bytes into a fresh buffer, to exercise unaligned reads. */
function shifted(bytes: Uint8Array, misalignment: number): Uint8Array {
  const buffer = new Uint8Array(bytes.length + misalignment);
  buffer.set(bytes, misalignment);
  return buffer.subarray(misalignment);
}

function u16le(values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 2);
  values.forEach((v, i) => new DataView(bytes.buffer).setUint16(i * 2, v, true));
  return bytes;
}

/** Refused alike from memory and from disk (read by ranges), with SAFETENSORS_INVALID and `message`. */
async function expectInvalid(bytes: Uint8Array, message: RegExp): Promise<void> {
  const path = join(scratchDir, 'bad.safetensors');
  writeFileSync(path, bytes);
  for (const file of [fileInMemory(bytes), await openLocalFile(path)]) {
    let caught: unknown;
    try {
      await SafeTensors.open(file, 'bad.safetensors');
    } catch (error) {
      caught = error;
    } finally {
      await file.close();
    }
    expect(caught).toBeInstanceOf(AlbertError);
    expect((caught as AlbertError).code).toBe('SAFETENSORS_INVALID');
    expect((caught as AlbertError).message).toMatch(/^bad\.safetensors: /);
    expect((caught as AlbertError).message).toMatch(message);
  }
}

/** Names and shapes the fixtures README promises for each checkpoint, from its config. */
function expectedLayout(fixture: string, c: AlbertConfig): Map<string, number[]> {
  const { vocabSize: V, embeddingSize: E, hiddenSize: H, intermediateSize: I } = c;
  const layout = new Map<string, number[]>([
    ['albert.embeddings.word_embeddings.weight', [V, E]],
    ['albert.embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, E]],
    ['albert.embeddings.token_type_embeddings.weight', [c.typeVocabSize, E]],
    ['albert.embeddings.LayerNorm.weight', [E]],
    ['albert.embeddings.LayerNorm.bias', [E]],
    ['albert.encoder.embedding_hidden_mapping_in.weight', [H, E]],
    ['albert.encoder.embedding_hidden_mapping_in.bias', [H]],
  ]);
  for (let g = 0; g < c.numHiddenGroups; g++) {
    for (let i = 0; i < c.innerGroupNum; i++) {
      const p = `albert.encoder.albert_layer_groups.${g}.albert_layers.${i}.`;
      for (const linear of ['attention.query', 'attention.key', 'attention.value', 'attention.dense']) {
        layout.set(`${p}${linear}.weight`, [H, H]).set(`${p}${linear}.bias`, [H]);
      }
      layout.set(`${p}ffn.weight`, [I, H]).set(`${p}ffn.bias`, [I]);
      layout.set(`${p}ffn_output.weight`, [H, I]).set(`${p}ffn_output.bias`, [H]);
      for (const norm of ['attention.LayerNorm', 'full_layer_layer_norm']) {
        layout.set(`${p}${norm}.weight`, [H]).set(`${p}${norm}.bias`, [H]);
      }
    }
  }
  const architecture = c.architectures[0];
  if (architecture === 'AlbertForMaskedLM' || architecture === 'AlbertForSequenceClassification') {
    layout.set('albert.pooler.weight', [H, H]).set('albert.pooler.bias', [H]);
  }
  if (architecture === 'AlbertForMaskedLM') {
    layout.set('predictions.dense.weight', [E, H]).set('predictions.dense.bias', [E]);
    layout.set('predictions.LayerNorm.weight', [E]).set('predictions.LayerNorm.bias', [E]);
    layout.set('predictions.bias', [V]);
    if (fixture === 'tiny-decoder-keys') {
      layout.set('predictions.decoder.weight', [V, E]).set('predictions.decoder.bias', [V]);
    }
  } else if (architecture === 'AlbertForQuestionAnswering') {
    layout.set('qa_outputs.weight', [2, H]).set('qa_outputs.bias', [2]);
  } else {
    layout.set('classifier.weight', [c.numLabels, H]).set('classifier.bias', [c.numLabels]);
  }
  return layout;
}

describe('SafeTensors on the reference fixtures', () => {
  for (const fixture of ['tiny', 'tiny-decoder-keys', 'tiny-groups', 'tiny-qa', 'tiny-tok', 'base']) {
    it(`${fixture}: names and shapes match the README layout, values match the raw bytes`, async () => {
      const bytes = readFileSync(new URL(`${fixture}/model.safetensors`, FIXTURES));
      const config = parseConfig(readFileSync(new URL(`${fixture}/config.json`, FIXTURES), 'utf8'));
      const file = await parse(bytes);
      expect(file.fileName).toBe('model.safetensors');
      expect(file.metadata).toEqual({ format: 'pt' });

      const layout = expectedLayout(fixture, config);
      expect(new Set(file.names())).toEqual(new Set(layout.keys()));
      const raw = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (const [name, shape] of layout) {
        const info = file.info(name);
        expect(info.dtype, name).toBe('F32');
        expect(info.shape, name).toEqual(shape);
        expect(info.size).toBe(shape.reduce((a, b) => a * b, 1));
        expect(info.end - info.begin).toBe(info.size * 4);
        const values = new Float32Array(info.size);
        await file.readF32(name, values);
        // Independent decode of a few elements straight from the file bytes.
        for (const i of [0, info.size >> 1, info.size - 1]) {
          expect(values[i], `${name}[${i}]`).toBe(raw.getFloat32(info.begin + 4 * i, true));
        }
      }
    });
  }

  it('reads the 30000×128 base word embeddings quickly, aligned or not', async () => {
    const bytes = readFileSync(new URL('base/model.safetensors', FIXTURES));
    const name = 'albert.embeddings.word_embeddings.weight';
    const out = new Float32Array(30000 * 128);
    for (const file of [await parse(bytes), await parse(shifted(bytes, 1))]) {
      const start = performance.now();
      await file.readF32(name, out);
      expect(performance.now() - start).toBeLessThan(250);
      const info = file.info(name);
      const raw = new DataView(bytes.buffer, bytes.byteOffset + info.begin);
      for (const i of [0, 1, 12345, out.length - 1]) expect(out[i]).toBe(raw.getFloat32(4 * i, true));
    }
  });
});

describe('SafeTensors conversion to f32', () => {
  // [bits, exact value]; subnormal values are m × 2^-24 (F16) and m × 2^-133 (BF16).
  const F16_CASES: [number, number][] = [
    [0x0000, 0], [0x8000, -0], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125],
    [0x7bff, 65504], [0x0400, 2 ** -14], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x8001, -(2 ** -24)],
    [0x7c00, Infinity], [0xfc00, -Infinity], [0x7e00, NaN], [0xfe01, NaN],
  ];
  const BF16_CASES: [number, number][] = [
    [0x0000, 0], [0x8000, -0], [0x3f80, 1], [0xc000, -2], [0x4049, 3.140625],
    [0x7f7f, 3.3895313892515355e38], [0x0080, 2 ** -126], [0x0001, 2 ** -133], [0x007f, 127 * 2 ** -133],
    [0x7f80, Infinity], [0xff80, -Infinity], [0x7fc0, NaN], [0xffc1, NaN],
  ];

  for (const [dtype, cases] of [['F16', F16_CASES], ['BF16', BF16_CASES]] as const) {
    it(`${dtype} is exact, including subnormals, infinities and NaN, at even and odd addresses`, async () => {
      const data = u16le(cases.map(([bits]) => bits));
      const bytes = buildFile({ t: { dtype, shape: [cases.length], data_offsets: [0, data.length] } }, data);
      // Shifting by 0 and 1 byte puts the data at an even and at an odd address, in some order.
      for (const shift of [0, 1]) {
        const out = new Float32Array(cases.length);
        await (await parse(shifted(bytes, shift))).readF32('t', out);
        cases.forEach(([bits, value], i) => {
          const same = Object.is(out[i], value) || (Number.isNaN(value) && Number.isNaN(out[i]));
          expect(same, `${dtype} 0x${bits.toString(16)} → ${out[i]}, expected ${value}`).toBe(true);
        });
      }
    });
  }

  it('F16 NaN and BF16 NaN keep their payload bits', async () => {
    const file = await parse(buildFile({
      h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
    }, u16le([0x7e01, 0xffc1])));
    const out = new Float32Array(1);
    await file.readF32('h', out);
    expect(new Uint32Array(out.buffer)[0]).toBe(0x7fc02000);
    await file.readF32('b', out);
    expect(new Uint32Array(out.buffer)[0]).toBe(0xffc10000);
  });

  it('F32 works at every alignment of the data', async () => {
    const values = new Float32Array([1.5, -2.25, 3e-40, Infinity]);
    for (const misalignment of [0, 1, 2, 3]) {
      const file = await parse(shifted(buildFile({ t: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } },
        new Uint8Array(values.buffer)), misalignment));
      const out = new Float32Array(4);
      await file.readF32('t', out);
      expect(out).toEqual(values);
    }
  });

  it('handles scalars and empty tensors', async () => {
    const file = await parse(buildFile({
      scalar: { dtype: 'F32', shape: [], data_offsets: [0, 4] },
      empty: { dtype: 'F32', shape: [0, 5], data_offsets: [4, 4] },
      alsoEmpty: { dtype: 'F16', shape: [3, 0], data_offsets: [4, 4] },
    }, new Uint8Array(new Float32Array([7]).buffer)));
    const one = new Float32Array(1);
    await file.readF32('scalar', one);
    expect(one[0]).toBe(7);
    expect(file.info('scalar').size).toBe(1);
    await file.readF32('empty', new Float32Array(0));
    expect(file.info('alsoEmpty').size).toBe(0);
  });

  it('refuses to convert other dtypes, unknown names and a wrongly sized output', async () => {
    const file = await parse(buildFile({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), 'x.safetensors');
    await expect(file.readF32('ids', new Float32Array(1))).rejects.toThrow(/x\.safetensors: tensor "ids" has dtype I64; only F32, F16, BF16/);
    expect(() => file.info('nope')).toThrow(expect.objectContaining({ code: 'CHECKPOINT_MISMATCH', message: 'x.safetensors has no tensor "nope"' }));
    expect(file.has('nope')).toBe(false);
    expect(file.has('ids')).toBe(true);
    const f32 = await parse(buildFile({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)));
    await expect(f32.readF32('t', new Float32Array(3))).rejects.toThrow(RangeError);
  });

  it('recognises every dtype of the format in the header', async () => {
    const bytesPer: Record<string, number> = {
      BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1, F8_E4M3FNUZ: 1, F8_E5M2FNUZ: 1,
      I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8, C64: 8,
    };
    const header: Record<string, object> = {};
    let offset = 0;
    for (const [dtype, size] of Object.entries(bytesPer)) {
      header[dtype] = { dtype, shape: [2], data_offsets: [offset, offset + 2 * size] };
      offset += 2 * size;
    }
    header.F4 = { dtype: 'F4', shape: [2, 2], data_offsets: [offset, offset + 2] };
    header.F6_E2M3 = { dtype: 'F6_E2M3', shape: [4], data_offsets: [offset + 2, offset + 5] };
    header.F6_E3M2 = { dtype: 'F6_E3M2', shape: [4], data_offsets: [offset + 5, offset + 8] };
    const file = await parse(buildFile(header, new Uint8Array(offset + 8)));
    for (const name of Object.keys(header)) expect(file.info(name).dtype).toBe(name);
  });
});

describe('SafeTensors rejects malformed files', () => {
  const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

  it('too short for the length field', () => expectInvalid(new Uint8Array(5), /5 bytes, too short/));

  it('absurd header length, checked before decoding', async () => {
    const file = new Uint8Array(16);
    new DataView(file.buffer).setUint32(4, 1, true); // 2^32
    await expectInvalid(file, /header length 4294967296 exceeds the 100000000-byte limit/);
    new DataView(file.buffer).setUint32(4, 0, true);
    new DataView(file.buffer).setUint32(0, 100_000_001, true);
    await expectInvalid(file, /exceeds the 100000000-byte limit/);
  });

  it('header longer than the file', async () => {
    const file = buildFile({});
    new DataView(file.buffer).setUint32(0, 100, true);
    await expectInvalid(file, /header length 100 exceeds the 2 bytes after the length field/);
  });

  it('header not UTF-8', async () => {
    const file = buildFile('{"a":1}');
    file[10] = 0xff;
    await expectInvalid(file, /not valid UTF-8/);
  });

  it('header not JSON', () => expectInvalid(buildFile('{"t": '), /not valid JSON/));
  it('header not an object', async () => {
    await expectInvalid(buildFile('[1, 2]'), /must be a JSON object/);
    await expectInvalid(buildFile('null'), /must be a JSON object/);
  });

  it('__metadata__ not a map of strings', async () => {
    await expectInvalid(buildFile({ __metadata__: { format: 1 } }), /__metadata__\["format"\] must be a string/);
    await expectInvalid(buildFile({ __metadata__: 'pt' }), /__metadata__ must be an object of strings/);
  });

  it('entry not an object', () => expectInvalid(buildFile({ t: [1] }), /tensor "t" must be an object/));

  it('unknown or missing dtype', async () => {
    await expectInvalid(buildFile({ t: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)), /tensor "t" has unknown dtype "F128" \(known: BOOL, /);
    await expectInvalid(buildFile({ t: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "t" has unknown dtype undefined/);
  });

  it('shape not an array of non-negative integers', async () => {
    for (const shape of [[-1], [1.5], ['2'], 4, null]) {
      await expectInvalid(buildFile({ t: { dtype: 'F32', shape, data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "t" shape must be an array of non-negative integers/);
    }
  });

  it('data_offsets not [begin, end] with begin <= end', async () => {
    for (const offsets of [[4, 0], [0], [0, 4, 8], [0, 4.5], [-4, 0], '0,4']) {
      await expectInvalid(buildFile({ t: { dtype: 'F32', shape: [1], data_offsets: offsets } }, new Uint8Array(8)), /tensor "t" data_offsets must be \[begin, end\]/);
    }
  });

  it('data past the end of the file', async () => {
    await expectInvalid(buildFile({ t: f32(0, 8) }, new Uint8Array(4)), /tensor "t" ends at data offset 8, past the end of the 4-byte data section/);
  });

  it('byte count that does not match shape × dtype', async () => {
    await expectInvalid(buildFile({ t: f32(0, 8, [3]) }, new Uint8Array(12)), /tensor "t" \(F32 \[3\]\) needs 12 bytes but data_offsets \[0, 8\] span 8/);
  });

  it('sub-byte dtypes that do not fill whole bytes', async () => {
    await expectInvalid(buildFile({ t: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, new Uint8Array(2)), /3 F4 elements, which do not fill whole bytes/);
  });

  it('overlapping tensors', async () => {
    await expectInvalid(buildFile({ a: f32(0, 8), b: f32(4, 12) }, new Uint8Array(12)), /tensors "a" and "b" overlap/);
    await expectInvalid(buildFile({ b: f32(4, 12), a: f32(0, 16) }, new Uint8Array(16)), /tensors "a" and "b" overlap/);
  });

  it('duplicate tensor names, even spelled with escapes', async () => {
    const entry = JSON.stringify(f32(0, 4));
    await expectInvalid(buildFile(`{"t":${entry},"u":${JSON.stringify(f32(4, 8))},"t":${entry}}`, new Uint8Array(8)), /the key "t" more than once/);
    await expectInvalid(buildFile(`{"ab":${entry}, "a\\u0062" : ${entry}}`, new Uint8Array(4)), /the key "ab" more than once/);
    await expectInvalid(buildFile(`{"t":{"dtype":"F32","shape":[1],"dtype":"F16","data_offsets":[0,4]}}`, new Uint8Array(4)), /the key "t"\."dtype" more than once/);
  });

  it('keys that only look alike are not duplicates', async () => {
    const header = `{"__metadata__":{"t":"x, \\"t\\": {"}, "t":${JSON.stringify(f32(0, 4))}, "t2":${JSON.stringify(f32(4, 8))}}`;
    expect((await parse(buildFile(header, new Uint8Array(8)))).names()).toEqual(['t', 't2']);
  });
});
