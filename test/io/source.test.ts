import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlbertError } from '../../src/errors.js';
import { openFile, openSource, type DownloadProgress, type FileSource } from '../../src/io/source.js';
import { startServer, type TestServer } from './http-server.js';

const TINY = new URL('../../../shared/fixtures/tiny/', import.meta.url);
const TINY_DIR = fileURLToPath(TINY);
const tinyFile = (name: string) => new Uint8Array(readFileSync(new URL(name, TINY)));

/** Byte-for-byte equality; toEqual walks large arrays element by element and is slow. */
function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual?.length).toBe(expected.length);
  expect(Buffer.compare(actual!, expected), 'bytes differ').toBe(0);
}

async function rejection(promise: Promise<unknown>): Promise<AlbertError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AlbertError);
  return error as AlbertError;
}

describe('local directory source', () => {
  for (const [kind, source] of [
    ['path', TINY_DIR],
    ['path with trailing slash', `${TINY_DIR}/`],
    ['file:// string', TINY.href],
    ['file: URL', TINY],
  ] as const) {
    it(`reads files from a ${kind}`, async () => {
      const progress: DownloadProgress[] = [];
      const files = openSource(source, { onProgress: (p) => progress.push(p) });
      const config = await files.read('config.json');
      expect(config).toEqual(tinyFile('config.json'));
      expect(progress).toEqual([{ file: 'config.json', loaded: config.length, total: config.length }]);
      expect(await files.tryRead('tokenizer.json')).toBeUndefined();
    });
  }

  it('names the file and the directory when a file is missing', async () => {
    const error = await rejection(openSource(TINY_DIR).read('spiece.model'));
    expect(error.code).toBe('SOURCE_NOT_FOUND');
    expect(error.message).toBe(`spiece.model not found in directory ${TINY_DIR}`);
  });

  it('says when the directory itself does not exist', async () => {
    const error = await rejection(openSource('/nonexistent/albert-model').tryRead('config.json'));
    expect(error.code).toBe('SOURCE_NOT_FOUND');
    expect(error.message).toMatch(/model directory \/nonexistent\/albert-model does not exist \(looking for config\.json\)/);
  });

  it('opens a file to read by byte ranges, reporting it once found', async () => {
    const progress: DownloadProgress[] = [];
    const whole = tinyFile('model.safetensors');
    const file = await openFile(openSource(TINY_DIR, { onProgress: (p) => progress.push(p) }), 'model.safetensors');
    try {
      expect(file.size).toBe(whole.length);
      expect(file.bytes).toBeUndefined();
      expect(progress).toEqual([{ file: 'model.safetensors', loaded: whole.length, total: whole.length }]);
      const part = new Uint8Array(100);
      expect(await file.read(part, 5000)).toBe(100);
      expectBytes(part, whole.subarray(5000, 5100));
      expect(await file.read(part, whole.length - 10)).toBe(10);
      expectBytes(part.subarray(0, 10), whole.subarray(whole.length - 10));
    } finally {
      await file.close();
    }
    const missing = await rejection(openFile(openSource(TINY_DIR), 'spiece.model'));
    expect(missing.message).toBe(`spiece.model not found in directory ${TINY_DIR}`);
  });

  it('reports a file that cannot be read as SOURCE_FAILED', async () => {
    const error = await rejection(openSource(fileURLToPath(new URL('../../../shared/', TINY))).read('fixtures'));
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toMatch(/could not read .*fixtures: .*EISDIR/);
  });
});

describe('in-memory source', () => {
  const bytes = new Uint8Array([1, 2, 3]);
  const files = openSource({ 'config.json': '{"é": 1}', 'model.safetensors': bytes, 'raw.bin': new Uint8Array([9, 8]).buffer });

  it('returns bytes as given, strings as UTF-8 and ArrayBuffers as views', async () => {
    expect(await files.read('model.safetensors')).toBe(bytes);
    expect(new TextDecoder().decode(await files.read('config.json'))).toBe('{"é": 1}');
    expect(await files.read('raw.bin')).toEqual(new Uint8Array([9, 8]));
  });

  it('reports missing files', async () => {
    expect(await files.tryRead('tokenizer.json')).toBeUndefined();
    expect(await files.tryRead('toString')).toBeUndefined();
    const error = await rejection(files.read('spiece.model'));
    expect(error.code).toBe('SOURCE_NOT_FOUND');
    expect(error.message).toBe('spiece.model not found in in-memory files (config.json, model.safetensors, raw.bin)');
  });

  it('rejects values that are not bytes or text', () => {
    expect(() => openSource({ 'config.json': 42 } as never)).toThrow(/in-memory file config\.json must be a Uint8Array, ArrayBuffer or string/);
  });

  it('passes a FileSource through unchanged', () => {
    const custom: FileSource = { description: 'mine', read: async () => bytes, tryRead: async () => undefined };
    expect(openSource(custom)).toBe(custom);
  });

  it('hands out in-memory files, and a FileSource\'s, whole', async () => {
    expect((await openFile(files, 'model.safetensors')).bytes).toBe(bytes);
    const custom: FileSource = { description: 'mine', read: async () => bytes, tryRead: async () => undefined };
    const file = await openFile(custom, 'model.safetensors');
    expect(file.bytes).toBe(bytes);
    const part = new Uint8Array(4);
    expect(await file.read(part, 1)).toBe(2);
    expect(part).toEqual(new Uint8Array([2, 3, 0, 0]));
  });

  it('rejects URLs of other protocols', () => {
    expect(() => openSource(new URL('ftp://example.com/model'))).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });
});

describe('URL prefix source', () => {
  let server: TestServer;
  const body = tinyFile('model.safetensors');

  beforeAll(async () => {
    server = await startServer((req, res) => {
      const path = req.url ?? '';
      if (path === '/models/tiny/model.safetensors' || path === '/models/tiny/sub%20dir/model.safetensors') {
        res.writeHead(200, { 'Content-Length': body.length });
        // Several writes so the client sees several chunks.
        for (let i = 0; i < body.length; i += 16384) res.write(body.subarray(i, i + 16384));
        res.end();
      } else if (path === '/models/tiny/config.json') {
        res.end(tinyFile('config.json'));
      } else if (path === '/models/tiny/cut.safetensors') {
        res.writeHead(200, { 'Content-Length': body.length });
        res.write(body.subarray(0, 1000), () => res.socket?.destroy());
      } else if (path === '/models/tiny/broken.json') {
        res.writeHead(500, 'Internal Server Error').end('oops');
      } else {
        res.writeHead(404).end('not found');
      }
    });
  });
  afterAll(() => server.close());

  it('downloads files with progress up to the Content-Length', async () => {
    const progress: DownloadProgress[] = [];
    for (const prefix of [`${server.origin}/models/tiny`, `${server.origin}/models/tiny/`, new URL(`${server.origin}/models/tiny`)]) {
      progress.length = 0;
      const files = openSource(prefix, { onProgress: (p) => progress.push(p) });
      expect(files.description).toBe(`URL prefix ${server.origin}/models/tiny/`);
      expectBytes(await files.read('model.safetensors'), body);
      expect(progress[0]).toEqual({ file: 'model.safetensors', loaded: 0, total: body.length });
      expect(progress.at(-1)).toEqual({ file: 'model.safetensors', loaded: body.length, total: body.length });
      expect(progress.length).toBeGreaterThan(2);
      for (let i = 1; i < progress.length; i++) expect(progress[i]!.loaded).toBeGreaterThan(progress[i - 1]!.loaded);
    }
    expectBytes(await openSource(`${server.origin}/models/tiny`).read('sub dir/model.safetensors'), body);
  });

  it('downloads bodies without a Content-Length', async () => {
    expect(await openSource(`${server.origin}/models/tiny`).read('config.json')).toEqual(tinyFile('config.json'));
  });

  it('maps 404 to not found, naming the file and the prefix', async () => {
    const files = openSource(`${server.origin}/models/tiny`);
    expect(await files.tryRead('tokenizer.json')).toBeUndefined();
    const error = await rejection(files.read('spiece.model'));
    expect(error.code).toBe('SOURCE_NOT_FOUND');
    expect(error.message).toBe(`spiece.model not found in URL prefix ${server.origin}/models/tiny/`);
  });

  it('maps other statuses to SOURCE_FAILED with the URL and status', async () => {
    const error = await rejection(openSource(`${server.origin}/models/tiny`).tryRead('broken.json'));
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toBe(`could not download broken.json from ${server.origin}/models/tiny/broken.json (HTTP 500 Internal Server Error)`);
  });

  it('fails a download whose connection drops mid-body', async () => {
    const error = await rejection(openSource(`${server.origin}/models/tiny`).read('cut.safetensors'));
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toMatch(new RegExp(`download of cut\\.safetensors from ${server.origin}/models/tiny/cut\\.safetensors was cut off after \\d+ of ${body.length} bytes \\(truncated`));
  });

  it('fails a body shorter than its Content-Length', async () => {
    const fetchShort: typeof fetch = async () => new Response(new Uint8Array(10), { headers: { 'Content-Length': '100' } });
    const error = await rejection(openSource('https://models.example/tiny', { fetch: fetchShort }).read('model.safetensors'));
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toBe('download of model.safetensors from https://models.example/tiny/model.safetensors is truncated: received 10 of 100 bytes');
  });

  it('does not hold a decompressed body to the compressed Content-Length', async () => {
    const fetchGzip: typeof fetch = async () =>
      new Response(new Uint8Array(50), { headers: { 'Content-Length': '20', 'Content-Encoding': 'gzip' } });
    expect((await openSource('https://models.example/tiny', { fetch: fetchGzip }).read('config.json')).length).toBe(50);
  });

  it('reports a server that cannot be reached as SOURCE_FAILED naming the URL', async () => {
    const closed = await startServer(() => {});
    await closed.close();
    const error = await rejection(openSource(`${closed.origin}/m`).read('config.json'));
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toMatch(new RegExp(`^could not fetch ${closed.origin}/m/config\\.json: fetch failed: .*ECONNREFUSED`));
  });
});
