/**
 * A checkpoint in a local directory is read by ranges: its header first, then each tensor straight
 * into wasm memory, never the whole file. Files on disk load as the same bytes in memory do, fail
 * with the same one-line errors when cut short or lying, fail naming the tensor when cut short while
 * loading and as changed when modified in any other way while loading, and are closed on every path.
 */
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/io/config.js';
import { openLocalFile } from '../../src/io/files.js';
import { SafeTensors } from '../../src/io/safetensors.js';
import { AlbertModel } from '../../src/model/albert.js';
import { expectedOf, FIXTURES_DIR, inputsOf } from '../helpers/fixtures.js';
import { editHeader, expectAlbertError, expectStillCorrect, fetchServing, fixtureFiles, inMemory, joinSafetensors, splitSafetensors } from './helpers.js';

const tiny = fixtureFiles('tiny');
const EMBEDDING_NORM = 'albert.embeddings.LayerNorm.weight';
const root = realpathSync(mkdtempSync(join(tmpdir(), 'albert-ranged-')));

let reference: AlbertModel;
beforeAll(async () => {
  reference = await AlbertModel.load(`${FIXTURES_DIR}tiny`);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let directories = 0;
/** A fresh model directory holding `config` and `weights`; returns it and its model.safetensors. */
function modelDirectory(config: string, weights: Uint8Array): { dir: string; weightsPath: string } {
  const dir = join(root, `m${directories++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), config);
  writeFileSync(join(dir, 'model.safetensors'), weights);
  return { dir, weightsPath: join(dir, 'model.safetensors') };
}

/** Whether this process holds `path` open (Linux, where /proc lists a process's files). */
function isOpen(path: string): boolean {
  if (!existsSync('/proc/self/fd')) return false;
  return readdirSync('/proc/self/fd').some((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false; // closed while listing
    }
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const caseOf = (fixture: string) => inputsOf(expectedOf(fixture).cases.find((c) => c.name === 'batch_padded')!);

describe('a checkpoint read by ranges from disk', () => {
  it('gives the PyTorch reference, and bit for bit what the same bytes give from memory, in f32 and int8', async () => {
    for (const fixture of ['tiny', 'base']) {
      const { config, weights } = fixtureFiles(fixture);
      const { dir, weightsPath } = modelDirectory(config, weights);
      for (const dtype of ['f32', 'int8'] as const) {
        const fromDisk = await AlbertModel.load(dir, { dtype });
        expect(isOpen(weightsPath)).toBe(false);
        if (dtype === 'f32') await expectStillCorrect(fromDisk, fixture);
        const fromMemory = await AlbertModel.load(inMemory(config, weights), { dtype });
        const [a, b] = await Promise.all([fromDisk.forward(caseOf(fixture)), fromMemory.forward(caseOf(fixture))]);
        expect(Buffer.compare(Buffer.from(a.last_hidden_state!.data.buffer), Buffer.from(b.last_hidden_state!.data.buffer)), `${fixture} ${dtype}`).toBe(0);
      }
    }
  });

  it('truncated or lying files fail as they do from memory, with the file closed', async () => {
    const { header, data } = splitSafetensors(tiny.weights);
    const withLength = (length: bigint) => {
      const bytes = tiny.weights.slice();
      new DataView(bytes.buffer).setBigUint64(0, length, true);
      return bytes;
    };
    const end = data.length;
    const bad = [
      tiny.weights.slice(0, 5),
      tiny.weights.slice(0, 8 + 100),
      tiny.weights.slice(0, tiny.weights.length - 1),
      withLength(BigInt(tiny.weights.length)),
      withLength(2n ** 40n),
      editHeader(tiny.weights, (h) => void (h[EMBEDDING_NORM].data_offsets = [end, end + 64])),
      editHeader(tiny.weights, (h) => void (h[EMBEDDING_NORM].data_offsets = [...h['albert.embeddings.LayerNorm.bias'].data_offsets])),
      joinSafetensors(header, data.subarray(0, end - 4)),
      editHeader(tiny.weights, (h) => void (h[EMBEDDING_NORM].shape = [17])),
    ];
    for (const weights of bad) {
      const fromMemory = await expectAlbertError(() => AlbertModel.load(inMemory(tiny.config, weights)), 'SAFETENSORS_INVALID');
      const { dir, weightsPath } = modelDirectory(tiny.config, weights);
      await expectAlbertError(() => AlbertModel.load(dir), 'SAFETENSORS_INVALID', new RegExp(`^${escape(fromMemory.message)}$`));
      expect(isOpen(weightsPath)).toBe(false);
    }
    // A checkpoint that is valid but not this config's fails later, after the header: closed too.
    const { dir, weightsPath } = modelDirectory(JSON.stringify({ ...JSON.parse(tiny.config), hidden_size: 64 }), tiny.weights);
    await expectAlbertError(() => AlbertModel.load(dir), 'CHECKPOINT_MISMATCH');
    expect(isOpen(weightsPath)).toBe(false);
    await expectStillCorrect(reference);
  });

  it('a file cut short after its header was read fails naming the tensor; one modified in any other way fails as changed', async () => {
    const config = parseConfig(tiny.config);
    const { weightsPath } = modelDirectory(tiny.config, tiny.weights);
    const file = await openLocalFile(weightsPath);
    try {
      const st = await SafeTensors.open(file);
      const last = st.names().map((n) => st.info(n)).sort((a, b) => b.end - a.end)[0]!;
      truncateSync(weightsPath, last.begin + 4);
      await expectAlbertError(() => AlbertModel.fromCheckpoint(config, st), 'SAFETENSORS_INVALID',
        new RegExp(`^model\\.safetensors: file ended at byte ${last.begin + 4}, inside tensor "${escape(last.name)}" \\(bytes ${last.begin} to ${last.end}\\); it was ${tiny.weights.length} bytes when its header was read \\(file changed while loading\\?\\)$`));
    } finally {
      await file.close();
    }
    await expectStillCorrect(reference);

    // Rewritten in place at the same size (another checkpoint of the same shape: the reads see nothing
    // amiss) or grown. The first write is dated in the past: two writes within one clock tick of the
    // file system would carry the same modification time.
    const rewritten = tiny.weights.slice();
    rewritten[rewritten.length - 1] ^= 1;
    const modifications = [() => writeFileSync(weightsPath, rewritten), () => appendFileSync(weightsPath, new Uint8Array(4096))];
    for (const modify of modifications) {
      writeFileSync(weightsPath, tiny.weights);
      utimesSync(weightsPath, new Date(Date.UTC(2020, 0, 1)), new Date(Date.UTC(2020, 0, 1)));
      const opened = await openLocalFile(weightsPath);
      try {
        const st = await SafeTensors.open(opened);
        modify();
        await expectAlbertError(() => AlbertModel.fromCheckpoint(config, st), 'SAFETENSORS_INVALID',
          /^model\.safetensors: file changed while loading \(\d+ bytes modified at 2020-01-01T\S+ when opened, \d+ bytes modified at \S+ now\); load it again$/);
      } finally {
        await opened.close();
      }
    }
    await expectStillCorrect(reference);
  });

  it('F16 and BF16 tensors convert exactly on their way from disk or a download, however the reads are cut', async () => {
    // Each dtype against an F32 file of the very values it holds, decoded here independently.
    const base = fixtureFiles('base');
    const { header, data } = splitSafetensors(base.weights);
    const source = new Float32Array(data.slice().buffer);
    const sourceBits = new Uint32Array(source.buffer);
    // Each fills halves[i] with the encoding of source[i] and values[i] with what it decodes to.
    const codecs = {
      // bf16: the top half of the f32 bits.
      BF16: (halves: Uint16Array, values: Float32Array) => {
        const valueBits = new Uint32Array(values.buffer);
        for (let i = 0; i < source.length; i++) {
          halves[i] = sourceBits[i]! >>> 16;
          valueBits[i] = sourceBits[i]! & 0xffff0000;
        }
      },
      // f16 by truncation, normal numbers only (smaller magnitudes become ±0).
      F16: (halves: Uint16Array, values: Float32Array) => {
        for (let i = 0; i < source.length; i++) {
          const v = source[i]!;
          const sign = v < 0 || Object.is(v, -0) ? 1 : 0;
          let exponent = Math.floor(Math.log2(Math.abs(v)));
          if (Math.abs(v) < 2 ** exponent) exponent--; // log2 rounded up just below a power of two
          if (!(exponent >= -14)) {
            halves[i] = sign << 15;
            values[i] = sign ? -0 : 0;
            continue;
          }
          if (exponent > 15) throw new Error(`${v} is out of f16's range`);
          const mantissa = Math.floor((Math.abs(v) / 2 ** exponent - 1) * 1024);
          halves[i] = (sign << 15) | ((exponent + 15) << 10) | mantissa;
          values[i] = (sign ? -1 : 1) * 2 ** exponent * (1 + mantissa / 1024);
        }
      },
    };
    for (const [dtype, codec] of Object.entries(codecs)) {
      const halves = new Uint16Array(source.length);
      const values = new Float32Array(source.length);
      codec(halves, values);
      const halfHeader = Object.fromEntries(Object.entries(header).map(([name, entry]) => [
        name,
        name === '__metadata__' ? entry : { ...entry, dtype, data_offsets: entry.data_offsets.map((o: number) => o / 2) },
      ]));
      const halfFile = joinSafetensors(halfHeader, new Uint8Array(halves.buffer));
      const { dir } = modelDirectory(base.config, halfFile);
      const [converted, streamed, exact] = await Promise.all([
        AlbertModel.load(dir),
        AlbertModel.load('https://models.test/half', { fetch: fetchServing({ 'config.json': base.config, 'model.safetensors': halfFile }, [1000, 1776, 1303]) }),
        AlbertModel.load(inMemory(base.config, joinSafetensors(header, new Uint8Array(values.buffer)))),
      ]);
      const [a, s, b] = await Promise.all([converted, streamed, exact].map((m) => m.forward(caseOf('base'))));
      expect(Buffer.compare(Buffer.from(a!.last_hidden_state!.data.buffer), Buffer.from(b!.last_hidden_state!.data.buffer)), dtype).toBe(0);
      expect(Buffer.compare(Buffer.from(s!.last_hidden_state!.data.buffer), Buffer.from(b!.last_hidden_state!.data.buffer)), `${dtype} streamed`).toBe(0);
    }
  });
});

describe("a local file through Deno's file API (imitated here over node:fs)", () => {
  // Deno has no positional read, so a read is a seek and then a read. The imitation yields between
  // them, as Deno's calls do: reads that did not wait for each other would read from the wrong place.
  const statOf = (s: Stats) => ({ isFile: s.isFile(), isDirectory: s.isDirectory(), size: s.size, mtime: s.mtime });
  const imitation = {
    open: async (path: string) => {
      const fd = openSync(path, 'r');
      let position = 0;
      const yieldOnce = () => new Promise((resolve) => setImmediate(resolve));
      return {
        stat: async () => statOf(fstatSync(fd)),
        seek: async (offset: number) => {
          await yieldOnce();
          return (position = offset);
        },
        read: async (into: Uint8Array) => {
          await yieldOnce();
          const count = readSync(fd, into, 0, Math.min(into.length, 1000), position); // short reads, as a real file may give
          position += count;
          return count === 0 ? null : count;
        },
        close: () => closeSync(fd),
      };
    },
    readFile: async (path: string) => new Uint8Array(readFileSync(path)),
    stat: async (path: string) => statOf(statSync(path)),
  };

  it('reads the asked ranges when reads overlap, short only at the end, and tells a modification', async () => {
    const host = globalThis as { Deno?: unknown };
    host.Deno = imitation;
    const path = join(root, 'deno-file.bin');
    const bytes = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7 + (i >> 8)) & 255);
    writeFileSync(path, bytes);
    utimesSync(path, new Date(Date.UTC(2020, 0, 1)), new Date(Date.UTC(2020, 0, 1)));
    try {
      const file = await openLocalFile(path);
      try {
        expect(file.size).toBe(10000);
        const ranges = [[0, 100], [5000, 3000], [9990, 20], [123, 4567], [10000, 5]];
        const reads = await Promise.all(ranges.map(async ([at, length]) => {
          const into = new Uint8Array(length);
          return { count: await file.read(into, at), into };
        }));
        ranges.forEach(([at, length], i) => {
          const count = Math.max(0, Math.min(length, 10000 - at));
          expect(reads[i].count, `read of ${length} at ${at}`).toBe(count);
          expect(Buffer.from(reads[i].into.subarray(0, count)).equals(Buffer.from(bytes.subarray(at, at + count))), `read of ${length} at ${at}`).toBe(true);
        });
        expect(await file.modifiedSinceOpened!()).toBeUndefined();
        writeFileSync(path, bytes.map((b) => b ^ 1));
        expect(await file.modifiedSinceOpened!()).toMatch(/^10000 bytes modified at 2020-01-01T00:00:00\.000Z when opened, 10000 bytes modified at \S+ now$/);
      } finally {
        await file.close();
      }
    } finally {
      delete host.Deno;
    }
  });
});
