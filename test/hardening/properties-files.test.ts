/**
 * Property tests: whatever bytes arrive as model.safetensors or config.json (random, or the fixture
 * with bits flipped, cut short or its header edited), loading and then running the model either
 * works or throws an AlbertError. Nothing else escapes, and nothing takes long.
 * `npm run fuzz` runs these (and the other properties-*.test.ts) for longer, with fresh seeds.
 */
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlbertError } from '../../src/errors.js';
import { parseConfig } from '../../src/io/config.js';
import { fileInMemory } from '../../src/io/files.js';
import { CONVERTIBLE_TO_F32, SafeTensors } from '../../src/io/safetensors.js';
import { AlbertModel } from '../../src/model/albert.js';
import { expectedOf, FIXTURES_DIR, inputsOf } from '../helpers/fixtures.js';
import { editHeader, expectStillCorrect, fetchServing, fixtureFiles, inMemory, joinSafetensors, propertyRuns, splitSafetensors } from './helpers.js';

const tiny = fixtureFiles('tiny');
const tinyHeaderLength = Number(new DataView(tiny.weights.buffer, tiny.weights.byteOffset).getBigUint64(0, true));
const tinyTensorNames = Object.keys(splitSafetensors(tiny.weights).header).filter((n) => n !== '__metadata__');
const singleCase = inputsOf(expectedOf('tiny').cases.find((c) => c.name === 'single')!);

/** One call on hostile input must finish quickly; a slow one points at a quadratic path or worse. */
const SLOW_MS = 5_000;

/** Runs `action`; passes if it returns or throws an AlbertError, fails on anything else or on slowness. */
async function onlyAlbertErrors(action: () => unknown): Promise<'ok' | 'refused'> {
  const start = performance.now();
  try {
    await action();
    return 'ok';
  } catch (error) {
    if (!(error instanceof AlbertError)) throw error;
    expect(error.message).not.toMatch(/\n/);
    return 'refused';
  } finally {
    expect(performance.now() - start).toBeLessThan(SLOW_MS);
  }
}

/** A load's outcome, comparable between sources: the output's values, or the error's code and message. */
function outcome(load: () => Promise<AlbertModel>): Promise<string> {
  return load().then(
    async (model) => Array.from((await model.forward(singleCase)).last_hidden_state!.data).join(),
    (error: unknown) => (error instanceof AlbertError ? `${error.code}: ${error.message}` : Promise.reject(error)),
  );
}

/** Loads the files and, if that works, runs a fixture input through the model. */
async function loadAndRun(config: string, weights: Uint8Array): Promise<void> {
  const model = await AlbertModel.load(inMemory(config, weights));
  await model.forward(singleCase);
}

// Mutations are data (shown by fast-check when a property fails) applied by one function.
type Mutation =
  | { kind: 'flip'; flips: { at: number; bit: number }[] }
  | { kind: 'truncate'; length: number }
  | { kind: 'set'; tensor: number; field: 'dtype' | 'shape' | 'data_offsets'; value: unknown }
  | { kind: 'nudge'; tensor: number; field: 'shape' | 'data_offsets'; index: number; by: number }
  | { kind: 'delete'; tensor: number }
  | { kind: 'rename'; tensor: number; name: string }
  | { kind: 'raw'; at: number; text: string };

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice();
      for (const { at, bit } of m.flips) out[at % out.length] ^= 1 << bit;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, m.length);
    case 'raw': {
      // Text spliced into the header JSON, keeping the declared length right.
      const { data } = splitSafetensors(bytes);
      const text = new TextDecoder().decode(bytes.subarray(8, 8 + tinyHeaderLength));
      const at = m.at % (text.length + 1);
      return joinSafetensors(text.slice(0, at) + m.text + text.slice(at), data);
    }
    default:
      return editHeader(bytes, (header) => {
        const name = tinyTensorNames[m.tensor % tinyTensorNames.length];
        const entry = header[name];
        if (m.kind === 'set') entry[m.field] = m.value;
        else if (m.kind === 'nudge' && Array.isArray(entry[m.field]) && entry[m.field].length) {
          entry[m.field][m.index % entry[m.field].length] += m.by;
        } else if (m.kind === 'delete') delete header[name];
        else if (m.kind === 'rename') {
          header[m.name] = entry;
          delete header[name];
        }
      });
  }
}

const interestingNumber = fc.oneof(
  fc.integer({ min: -3, max: 70_000 }),
  fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, -0, 0.5, NaN, Infinity),
);
const jsonish = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(interestingNumber, { maxLength: 4 }), interestingNumber);

const safetensorsMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    // Mostly in the length field and the header, where a flip changes the structure.
    flips: fc.array(fc.record({ at: fc.oneof(fc.nat(8 + tinyHeaderLength - 1), fc.nat(tiny.weights.length - 1)), bit: fc.nat(7) }), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat(tiny.weights.length - 1) }),
  fc.record({
    kind: fc.constant('set' as const),
    tensor: fc.nat(),
    field: fc.constantFrom('dtype' as const, 'shape' as const, 'data_offsets' as const),
    value: fc.oneof(jsonish, fc.constantFrom('F16', 'BF16', 'I64', 'F4', 'BOOL', 'F32 ')),
  }),
  fc.record({
    kind: fc.constant('nudge' as const),
    tensor: fc.nat(),
    field: fc.constantFrom('shape' as const, 'data_offsets' as const),
    index: fc.nat(3),
    by: fc.oneof(fc.integer({ min: -8, max: 8 }), fc.constantFrom(2 ** 32, -(2 ** 32), 2 ** 53)),
  }),
  fc.record({ kind: fc.constant('delete' as const), tensor: fc.nat() }),
  fc.record({ kind: fc.constant('rename' as const), tensor: fc.nat(), name: fc.oneof(fc.string(), fc.constantFrom('__metadata__', '__proto__', 'constructor')) }),
  fc.record({ kind: fc.constant('raw' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(',', '}', '{', '"', '[', ']', ':', '\\', 'null')) }),
);

let reference: AlbertModel;
beforeAll(async () => {
  reference = await AlbertModel.load(`${FIXTURES_DIR}tiny`);
});

describe('safetensors reader', () => {
  it('random bytes: parsed or refused with SAFETENSORS_INVALID', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), async (bytes) => {
        try {
          await SafeTensors.open(fileInMemory(bytes));
        } catch (error) {
          if (!(error instanceof AlbertError) || error.code !== 'SAFETENSORS_INVALID') throw error;
        }
      }),
      propertyRuns(500),
    );
  });

  it('random headers: what is accepted lies inside the file, does not overlap and converts to f32', async () => {
    const dtype = fc.constantFrom('F32', 'F16', 'BF16', 'I8', 'F4', 'F6_E2M3', 'C64', 'F128', '');
    const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I8: 1 };
    // Entries whose byte count fits dtype × shape, placed at random: these overlap or overrun often.
    const consistent = fc
      .record({ dtype: fc.constantFrom(...Object.keys(BYTES)), shape: fc.array(fc.nat(4), { maxLength: 2 }), begin: fc.nat(40) })
      .map(({ dtype, shape, begin }) => ({ dtype, shape, data_offsets: [begin, begin + BYTES[dtype] * shape.reduce((a, b) => a * b, 1)] }));
    const anyEntry = fc.oneof(
      consistent,
      fc.record({ dtype, shape: fc.array(fc.nat(6), { maxLength: 3 }), data_offsets: fc.tuple(fc.nat(80), fc.nat(80)) }, { requiredKeys: [] }),
      jsonish,
    );
    const name = fc.oneof({ arbitrary: fc.string({ maxLength: 4 }), weight: 9 }, { arbitrary: fc.constant('__metadata__'), weight: 1 });
    const header = fc.oneof(
      { arbitrary: fc.dictionary(fc.string({ maxLength: 4 }), consistent, { minKeys: 2, maxKeys: 5 }), weight: 3 },
      { arbitrary: fc.dictionary(name, anyEntry, { maxKeys: 5 }), weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(header, fc.integer({ min: 0, max: 80 }), async (h, dataLength) => {
        const data = new Uint8Array(dataLength).map((_, i) => i);
        let file: SafeTensors;
        try {
          file = await SafeTensors.open(fileInMemory(joinSafetensors(h, data)));
        } catch (error) {
          if (!(error instanceof AlbertError) || error.code !== 'SAFETENSORS_INVALID') throw error;
          return;
        }
        const fileLength = 8 + JSON.stringify(h).length + data.length;
        const infos = file.names().map((n) => file.info(n));
        for (const info of infos) {
          expect(info.begin).toBeLessThanOrEqual(info.end);
          expect(info.end).toBeLessThanOrEqual(fileLength);
          if (CONVERTIBLE_TO_F32.includes(info.dtype)) await file.readF32(info.name, new Float32Array(info.size));
        }
        const filled = infos.filter((i) => i.end > i.begin).sort((a, b) => a.begin - b.begin);
        filled.slice(1).forEach((info, i) => expect(info.begin).toBeGreaterThanOrEqual(filled[i].end));
      }),
      propertyRuns(500),
    );
  });

  it('the tiny fixture mutated: loading and running give a result or an AlbertError', async () => {
    const outcomes = { ok: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(safetensorsMutation, async (m) => {
        outcomes[await onlyAlbertErrors(() => loadAndRun(tiny.config, mutate(tiny.weights, m)))]++;
      }),
      propertyRuns(300),
    );
    // Both kinds of outcome occur, so the mutations reach past the first check.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
    await expectStillCorrect(reference);
  });

  it('the tiny fixture mutated, read by ranges from a directory: the same outcome as from memory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'albert-properties-'));
    await writeFile(join(dir, 'config.json'), tiny.config);
    try {
      await fc.assert(
        fc.asyncProperty(safetensorsMutation, async (m) => {
          const weights = mutate(tiny.weights, m);
          await writeFile(join(dir, 'model.safetensors'), weights);
          expect(await outcome(() => AlbertModel.load(dir))).toBe(await outcome(() => AlbertModel.load(inMemory(tiny.config, weights))));
        }),
        propertyRuns(100),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the tiny fixture mutated, streamed from a download in any chunks: the same outcome as from memory', async () => {
    await fc.assert(
      fc.asyncProperty(safetensorsMutation, fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 4 }), async (m, chunkSizes) => {
        const weights = mutate(tiny.weights, m);
        const fetch = fetchServing({ 'config.json': tiny.config, 'model.safetensors': weights }, chunkSizes);
        expect(await outcome(() => AlbertModel.load('https://models.test/tiny', { fetch }))).toBe(await outcome(() => AlbertModel.load(inMemory(tiny.config, weights))));
      }),
      propertyRuns(100),
    );
  });

  it('a download whose Content-Length lies is refused with SOURCE_FAILED, and the next load works', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.integer({ min: -tiny.weights.length, max: -1 }), fc.integer({ min: 1, max: 1 << 20 })), fc.nat(3000), async (lengthError, chunk) => {
        const fetch = fetchServing({ 'config.json': tiny.config, 'model.safetensors': tiny.weights }, [chunk + 1], lengthError);
        const result = await outcome(() => AlbertModel.load('https://models.test/tiny', { fetch }));
        expect(result).toMatch(/^(SOURCE_FAILED|SAFETENSORS_INVALID): /);
      }),
      propertyRuns(100),
    );
    await expectStillCorrect(reference);
  });
});

describe('config reader', () => {
  const tinyConfig: Record<string, unknown> = JSON.parse(tiny.config);
  const fields = Object.keys(tinyConfig);

  it('random JSON: parsed or refused with CONFIG_INVALID', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom(...fields), jsonish)), (json) => {
        try {
          parseConfig(JSON.stringify(json));
        } catch (error) {
          if (!(error instanceof AlbertError) || error.code !== 'CONFIG_INVALID') throw error;
        }
      }),
      propertyRuns(500),
    );
  });

  it('the tiny config edited: loading and running give a result or an AlbertError', async () => {
    const edit = fc.oneof(
      fc.record({ field: fc.constantFrom(...fields), value: fc.oneof(jsonish, fc.constantFrom('gelu', 'relu', 'silu', null, [], {})) }),
      fc.record({ field: fc.constantFrom(...fields), value: fc.constant(undefined) }), // deleted
      fc.record({ field: fc.string({ maxLength: 12 }), value: jsonish }),
    );
    const outcomes = { ok: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), fc.option(fc.nat(tiny.config.length - 1)), async (edits, cut) => {
        const config: Record<string, unknown> = { ...tinyConfig };
        for (const { field, value } of edits) {
          if (value === undefined) delete config[field];
          else config[field] = value;
        }
        const text = JSON.stringify(config);
        outcomes[await onlyAlbertErrors(() => loadAndRun(cut === null ? text : text.slice(0, cut), tiny.weights))]++;
      }),
      propertyRuns(300),
    );
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
    await expectStillCorrect(reference);
  });
});
