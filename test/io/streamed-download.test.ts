/**
 * A checkpoint from a URL goes into linear memory as it downloads (streamDownload, read in the file's
 * order by placeWeights), never whole in JS memory, and gives what the same bytes give from disk.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/io/config.js';
import { streamDownload, type DownloadTap, type StreamedFile } from '../../src/io/http.js';
import { SafeTensors } from '../../src/io/safetensors.js';
import { openFile, openSource } from '../../src/io/source.js';
import { AlbertModel } from '../../src/model/albert.js';
import { chunkedResponse, expectAlbertError, propertyRuns } from '../hardening/helpers.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { startServer, type TestServer } from './http-server.js';

/** A tap that keeps what it is given, to check it got every byte in order and how it ended. */
function recordingTap() {
  const parts: Uint8Array[] = [];
  const tap = {
    ended: undefined as boolean | undefined,
    bytes: () => Buffer.concat(parts),
    write: (chunk: Uint8Array) => void parts.push(chunk),
    end: async (complete: boolean) => {
      tap.ended = complete;
    },
  };
  return tap satisfies DownloadTap;
}

const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
const URL_SHOWN = 'https://example.test/m/model.safetensors';

describe('streamDownload', () => {
  it('reads any range as it arrives, and hands the tap every byte, then complete', async () => {
    const tap = recordingTap();
    const file = streamDownload(chunkedResponse(bytes, [1, 999, 37, 4096]), URL_SHOWN, 'model.safetensors', bytes.length, { tap });
    expect(file.size).toBe(bytes.length);
    for (const [from, length] of [[5000, 3000], [0, 8], [9990, 100], [123, 1]]) {
      const into = new Uint8Array(length);
      const got = await file.read(into, from);
      expect(got).toBe(Math.min(length, bytes.length - from));
      expect(Buffer.compare(into.subarray(0, got), bytes.subarray(from, from + got))).toBe(0);
    }
    await file.finish();
    expect(tap.ended).toBe(true);
    expect(Buffer.compare(tap.bytes(), bytes)).toBe(0);
  });

  it('keeps only the ranges it is told will be read, and each only until it is read', async () => {
    const file = streamDownload(chunkedResponse(bytes, [100]), URL_SHOWN, 'model.safetensors', bytes.length);
    file.willRead([[2000, 3000], [6000, 6500]]);
    const into = new Uint8Array(500);
    await file.read(into, 6000);
    expect(Buffer.compare(into, bytes.subarray(6000, 6500))).toBe(0);
    // The 1500 wanted bytes were held until read; everything else was dropped as it came.
    expect(file.peakHeldBytes).toBe(1500);
    await file.read(into, 2000);
    expect(Buffer.compare(into, bytes.subarray(2000, 2500))).toBe(0);
    // A range read once is gone: a second read is a bug, and says so.
    await expect(file.read(into, 2000)).rejects.toThrow(/bytes 2000 to 2500 of the download were read before or never wanted/);
    await file.read(into, 2500);
    expect(Buffer.compare(into, bytes.subarray(2500, 3000))).toBe(0);
    await file.finish();
  });

  it('gives every wanted byte however the body is cut and the ranges are read (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 6 }),
        fc.uniqueArray(fc.nat(), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        async (size, chunkSizes, cuts, pieceSizes, seed) => {
          const source = bytes.subarray(0, Math.min(size, bytes.length));
          // Alternate intervals between sorted cut points are the wanted ranges (disjoint).
          const points = [...new Set(cuts.map((c) => c % (source.length + 1)))].sort((a, b) => a - b);
          const ranges: [number, number][] = [];
          for (let i = 0; i + 1 < points.length; i += 2) if (points[i + 1]! > points[i]!) ranges.push([points[i]!, points[i + 1]!]);
          // Each range read in pieces, the pieces in a shuffled order.
          const pieces: [number, number][] = [];
          for (const [a, b] of ranges) {
            for (let at = a, turn = 0; at < b; turn++) {
              const end = Math.min(b, at + pieceSizes[turn % pieceSizes.length]!);
              pieces.push([at, end]);
              at = end;
            }
          }
          let state = seed;
          for (let i = pieces.length - 1; i > 0; i--) {
            state = (state * 1103515245 + 12345) % 2 ** 31;
            const j = state % (i + 1);
            [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
          }
          const file = streamDownload(chunkedResponse(source, chunkSizes), URL_SHOWN, 'model.safetensors', source.length);
          file.willRead(ranges);
          for (const [a, b] of pieces) {
            const into = new Uint8Array(b - a);
            expect(await file.read(into, a)).toBe(b - a);
            expect(Buffer.compare(into, source.subarray(a, b))).toBe(0);
          }
          await file.finish();
          expect(file.peakHeldBytes).toBeLessThanOrEqual(source.length);
        },
      ),
      propertyRuns(60),
    );
  });

  it('stops pulling from the network when far enough ahead of the reads', async () => {
    const big = new Uint8Array(40 << 20);
    let pulled = 0;
    const file = streamDownload(chunkedResponse(big, [1 << 16], { onPull: (sent) => (pulled = sent) }), URL_SHOWN, 'model.safetensors', big.length);
    file.willRead([[0, big.length]]);
    await file.read(new Uint8Array(16), 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(pulled).toBeLessThan(10 << 20);
    // Reading on lets it go on; the whole file arrives with never more than the high-water mark held.
    const part = new Uint8Array(1 << 20);
    for (let at = 16; at < big.length; at += part.length) await file.read(part.subarray(0, Math.min(part.length, big.length - at)), at);
    await file.finish();
    expect(pulled).toBe(big.length);
    expect(file.peakHeldBytes).toBeLessThan(10 << 20);
  });

  it('fails the reads waiting past a body that ends short, naming what arrived, and tells the tap', async () => {
    const tap = recordingTap();
    const file = streamDownload(chunkedResponse(bytes, [1000], { endAt: 4000 }), URL_SHOWN, 'model.safetensors', bytes.length, { tap });
    const into = new Uint8Array(10);
    expect(await file.read(into, 3990)).toBe(10);
    const message = `download of model.safetensors from ${URL_SHOWN} is truncated: received 4000 of 10000 bytes`;
    await expect(file.read(into, 3995)).rejects.toThrow(message);
    await expect(file.finish()).rejects.toThrow(message);
    expect(tap.ended).toBe(false);
  });

  it('fails a body longer than its Content-Length', async () => {
    const file = streamDownload(chunkedResponse(bytes, [600]), URL_SHOWN, 'model.safetensors', 1000);
    await expect(file.finish()).rejects.toThrow(`download of model.safetensors from ${URL_SHOWN} is longer than the 1000 bytes its Content-Length announced`);
  });

  it('fails when nothing arrives for the stall timeout', async () => {
    const stuck = new Response(new ReadableStream({ pull: () => new Promise(() => {}) }), { headers: { 'content-length': '100' } });
    const file = streamDownload(stuck, URL_SHOWN, 'model.safetensors', 100, { stallTimeoutMs: 50 });
    await expect(file.read(new Uint8Array(10), 0)).rejects.toThrow(`download of model.safetensors from ${URL_SHOWN} was cut off after 0 of 100 bytes (truncated: nothing received for 0.05 s)`);
  });

  it('cancels the download when closed before its end, and the tap ends incomplete', async () => {
    let cancelled = false;
    const tap = recordingTap();
    const file = streamDownload(chunkedResponse(bytes, [100], { onCancel: () => (cancelled = true) }), URL_SHOWN, 'model.safetensors', bytes.length, { tap });
    await file.read(new Uint8Array(10), 0);
    await file.close();
    expect(cancelled).toBe(true);
    expect(tap.ended).toBe(false);
  });
});

describe('a checkpoint from a URL prefix', () => {
  const BASE = `${FIXTURES_DIR}base/`;
  const weights = new Uint8Array(readFileSync(`${BASE}model.safetensors`));
  const config = readFileSync(`${BASE}config.json`, 'utf8');
  let server: TestServer;
  let fromDisk: AlbertModel;
  const ids = [[2, 48, 1173, 14, 21, 4, 16, 3]];

  beforeAll(async () => {
    server = await startServer((req, res) => {
      const name = (req.url ?? '').split('/').at(-1);
      const body = name === 'config.json' ? Buffer.from(config) : name === 'model.safetensors' ? weights : undefined;
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': body.length });
      if ((req.url ?? '').startsWith('/cut/') && name === 'model.safetensors') return void res.write(body.subarray(0, 20 << 20), () => res.socket?.destroy());
      res.end(body);
    });
    fromDisk = await AlbertModel.load(BASE);
  });
  afterAll(() => server?.close());

  it('packs albert-base as it arrives, holding a fraction of it, with the bits a load from disk gives', async () => {
    for (const dtype of ['f32', 'int8'] as const) {
      const file = (await openFile(openSource(`${server.origin}/ok/base`), 'model.safetensors')) as StreamedFile;
      const model = await AlbertModel.fromCheckpoint(parseConfig(config, 'config.json'), await SafeTensors.open(file), { dtype });
      await file.close();
      // 47 MB of weights; the largest single read is 1 MB, and the stream keeps at most 8 MB ahead.
      expect(file.size).toBe(weights.length);
      expect(file.peakHeldBytes).toBeLessThan(10 << 20);
      const reference = dtype === 'f32' ? fromDisk : await AlbertModel.load(BASE, { dtype });
      const [ours, theirs] = [await model.forward({ input_ids: ids }), await reference.forward({ input_ids: ids })];
      expect(Buffer.compare(Buffer.from(ours.last_hidden_state!.data.buffer), Buffer.from(theirs.last_hidden_state!.data.buffer))).toBe(0);
    }
  });

  it('fails a download cut off mid-tensor with SOURCE_FAILED, and the next load works', async () => {
    await expectAlbertError(() => AlbertModel.load(`${server.origin}/cut/base`), 'SOURCE_FAILED',
      new RegExp(`^download of model\\.safetensors from ${server.origin}/cut/base/model\\.safetensors was cut off after \\d+ of ${weights.length} bytes \\(truncated: `));
    const again = await AlbertModel.load(`${server.origin}/ok/base`);
    const [ours, theirs] = [await again.forward({ input_ids: ids }), await fromDisk.forward({ input_ids: ids })];
    expect(Buffer.compare(Buffer.from(ours.last_hidden_state!.data.buffer), Buffer.from(theirs.last_hidden_state!.data.buffer))).toBe(0);
  });
});
