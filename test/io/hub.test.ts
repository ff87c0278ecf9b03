import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AlbertError } from '../../src/errors.js';
import { CacheStorageCache, defaultCacheDirectory } from '../../src/io/cache.js';
import { parseConfig } from '../../src/io/config.js';
import { readWhole } from '../../src/io/files.js';
import type { StreamedFile } from '../../src/io/http.js';
import { SafeTensors } from '../../src/io/safetensors.js';
import { openFile, openSource, type DownloadProgress, type SourceOptions } from '../../src/io/source.js';
import { AlbertModel } from '../../src/model/albert.js';
import { startServer, type TestServer } from './http-server.js';

const TINY = new URL('../../../shared/fixtures/tiny/', import.meta.url);
const REPO = 'test-org/tiny-albert';
const original: Record<string, Uint8Array> = {
  'config.json': new Uint8Array(readFileSync(new URL('config.json', TINY))),
  'model.safetensors': new Uint8Array(readFileSync(new URL('model.safetensors', TINY))),
};
const etagOf = (bytes: Uint8Array) => `"${createHash('sha256').update(bytes).digest('hex')}"`;

/** How the fake hub misbehaves in the current test. */
interface HubBehaviour {
  files: Record<string, Uint8Array>;
  cutBodies: boolean;
  failWith500: boolean;
  ignoreIfNoneMatch: boolean;
}

let server: TestServer;
let behaviour: HubBehaviour;
const seen: { path: string; ifNoneMatch?: string; status: number }[] = [];

/**
 * The hub's layout: `/{owner}/{name}/resolve/{revision}/{file}`; like the real hub, large files
 * answer with a 302 (relative Location) to a CDN path that serves them with an ETag.
 */
function hubHandler(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  const path = req.url ?? '';
  const ifNoneMatch = req.headers['if-none-match'];
  const reply = (status: number, headers: Record<string, string | number> = {}, body?: Uint8Array) => {
    seen.push({ path, ifNoneMatch, status });
    res.writeHead(status, headers);
    if (body && behaviour.cutBodies) res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
    else res.end(body);
  };
  const serve = (file: string) => {
    const content = behaviour.files[file];
    if (!content) return reply(404, { 'X-Error-Code': 'EntryNotFound' });
    const etag = etagOf(content);
    if (ifNoneMatch === etag && !behaviour.ignoreIfNoneMatch) return reply(304, { ETag: etag });
    return reply(200, { ETag: etag, 'Content-Length': content.length }, content);
  };

  const resolve = /^\/([\w.-]+\/[\w.-]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
  const cdn = /^\/cdn\/([^/]+)\/(.+)$/.exec(path);
  if (resolve) {
    const [, repo, revision, file] = resolve as unknown as [string, string, string, string];
    if (repo !== REPO) return reply(401, { 'X-Error-Code': 'RepoNotFound' });
    if (behaviour.failWith500) return reply(500);
    if (file.endsWith('.safetensors') && behaviour.files[decodeURIComponent(file)]) {
      return reply(302, { Location: `/cdn/${revision}/${file}` });
    }
    return serve(decodeURIComponent(file));
  }
  if (cdn) return serve(decodeURIComponent(cdn[2]!));
  reply(400);
}

let cacheDir: string;
let warnings: string[];
let progress: DownloadProgress[];

function hub(options: SourceOptions = {}) {
  return openSource(REPO, {
    endpoint: server.origin,
    cacheDir,
    onWarning: (message) => warnings.push(message),
    onProgress: (p) => progress.push(p),
    ...options,
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

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

beforeAll(async () => {
  server = await startServer(hubHandler);
});
afterAll(() => server.close());
beforeEach(async () => {
  behaviour = { files: { ...original }, cutBodies: false, failWith500: false, ignoreIfNoneMatch: false };
  seen.length = 0;
  warnings = [];
  progress = [];
  cacheDir = await mkdtemp(join(tmpdir(), 'albert-hub-'));
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(cacheDir, { recursive: true, force: true });
});

describe('hub source', () => {
  it('downloads through the redirect with progress, then caches with the ETag', async () => {
    const source = hub();
    expect(source.description).toBe(`"${REPO}" (a local directory if one exists, else a hub model id)`);
    expectBytes(await source.read('model.safetensors'), original['model.safetensors']);
    expect(source.description).toBe(`hub model "${REPO}" (revision main) at ${server.origin}`);
    expect(seen.map((r) => `${r.status} ${r.path}`)).toEqual([
      `302 /${REPO}/resolve/main/model.safetensors`,
      '200 /cdn/main/model.safetensors',
    ]);
    const size = original['model.safetensors']!.length;
    expect(progress[0]).toEqual({ file: 'model.safetensors', loaded: 0, total: size });
    expect(progress.at(-1)).toEqual({ file: 'model.safetensors', loaded: size, total: size });
    expect(progress.length).toBeGreaterThan(2);

    expect(await source.read('config.json')).toEqual(original['config.json']);
    expect(await filesUnder(cacheDir)).toEqual([
      `${REPO}/main/.meta/config.json.json`,
      `${REPO}/main/.meta/model.safetensors.json`,
      `${REPO}/main/config.json`,
      `${REPO}/main/model.safetensors`,
    ]);
    const meta = JSON.parse(await readFile(join(cacheDir, REPO, 'main/.meta/model.safetensors.json'), 'utf8'));
    expect(meta).toMatchObject({ etag: etagOf(original['model.safetensors']!), size });
    expect(warnings).toEqual([]);
  });

  it('revalidates a cached file with If-None-Match and does not download it again', async () => {
    await hub().read('model.safetensors');
    seen.length = 0;
    progress.length = 0;
    expectBytes(await hub().read('model.safetensors'), original['model.safetensors']);
    expect(seen.map((r) => `${r.status} ${r.path} ${r.ifNoneMatch}`)).toEqual([
      `302 /${REPO}/resolve/main/model.safetensors ${etagOf(original['model.safetensors']!)}`,
      `304 /cdn/main/model.safetensors ${etagOf(original['model.safetensors']!)}`,
    ]);
    const size = original['model.safetensors']!.length;
    expect(progress).toEqual([{ file: 'model.safetensors', loaded: size, total: size }]);
  });

  it('uses the cache when the server ignores If-None-Match but the ETag is unchanged', async () => {
    await hub().read('config.json');
    const metaPath = join(cacheDir, REPO, 'main/.meta/config.json.json');
    const before = await readFile(metaPath, 'utf8');
    behaviour.ignoreIfNoneMatch = true;
    expect(await hub().read('config.json')).toEqual(original['config.json']);
    expect(await readFile(metaPath, 'utf8')).toBe(before);
  });

  it('downloads again when the file changed upstream', async () => {
    await hub().read('config.json');
    const changed = new TextEncoder().encode('{"model_type": "albert", "hidden_size": 64}');
    behaviour.files['config.json'] = changed;
    expect(await hub().read('config.json')).toEqual(changed);
    expect(await readFile(join(cacheDir, REPO, 'main/config.json'))).toEqual(Buffer.from(changed));
  });

  it('works offline from the cache, saying so through onWarning', async () => {
    await hub().read('config.json');
    await hub().read('model.safetensors');
    const offline = await startServer(() => {});
    await offline.close(); // nothing listens on its port any more
    progress.length = 0;
    const source = hub({ endpoint: offline.origin });
    expectBytes(await source.read('model.safetensors'), original['model.safetensors']);
    expect(await source.read('config.json')).toEqual(original['config.json']);
    // One warning for the source, however many files then come from the cache.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^hub model "${REPO}" \\(revision main\\) at ${offline.origin}: could not check model\\.safetensors with the hub \\(could not fetch .*ECONNREFUSED.*\\); using the cached copies \\(${cacheDir}/${REPO}/main/model\\.safetensors\\)$`));
    expect(progress.map((p) => p.file)).toEqual(['model.safetensors', 'config.json']);
  });

  it('uses the cache with a warning when the hub answers with a server error', async () => {
    await hub().read('config.json');
    behaviour.failWith500 = true;
    expect(await hub().read('config.json')).toEqual(original['config.json']);
    expect(warnings[0]).toMatch(/could not check config\.json with the hub \(HTTP 500 Internal Server Error from .*\); using the cached copies/);
  });

  it('remembers files the hub does not have, so an offline run need not ask', async () => {
    expect(await hub().tryRead('tokenizer_config.json')).toBeUndefined();
    await hub().read('config.json');
    const offline = await startServer(() => {});
    await offline.close();
    const source = hub({ endpoint: offline.origin });
    expect(await source.tryRead('tokenizer_config.json')).toBeUndefined();
    expect(await source.read('config.json')).toEqual(original['config.json']);
    await expect(source.tryRead('vocab.txt')).rejects.toMatchObject({ code: 'SOURCE_FAILED' });
  });

  it('fails offline without a cache, naming the id and the endpoint', async () => {
    const offline = await startServer(() => {});
    await offline.close();
    const error = await rejection(hub({ endpoint: offline.origin }).read('config.json'));
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toMatch(new RegExp(`^could not get config\\.json of hub model "${REPO}" from ${offline.origin} \\(could not fetch .*ECONNREFUSED.*\\) and it is not in the download cache$`));
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  it('leaves no cache entry when the connection drops mid-download', async () => {
    behaviour.cutBodies = true;
    const error = await rejection(hub().read('model.safetensors'));
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toMatch(/could not get model\.safetensors of hub model "test-org\/tiny-albert" from .* \(download of model\.safetensors from .* was cut off after \d+ of \d+ bytes \(truncated/);
    expect(await filesUnder(cacheDir)).toEqual([]);
    // The next, complete download is then cached normally.
    behaviour.cutBodies = false;
    expectBytes(await hub().read('model.safetensors'), original['model.safetensors']);
    expect(await filesUnder(cacheDir)).toContain(`${REPO}/main/model.safetensors`);
  });

  it('keeps the cached copy when a download of a changed file is cut off', async () => {
    await hub().read('config.json');
    behaviour.files['config.json'] = new TextEncoder().encode('{"changed": true, "padding": "......................"}');
    behaviour.cutBodies = true;
    expect(await hub().read('config.json')).toEqual(original['config.json']);
    expect(warnings[0]).toMatch(/cut off after/);
  });

  it('opens a first download as it streams in, and caches it once it all came', async () => {
    const file = (await openFile(hub(), 'model.safetensors')) as StreamedFile;
    expect(file.peakHeldBytes).toBeDefined();
    expectBytes(await readWhole(file), original['model.safetensors']);
    expect(await filesUnder(cacheDir)).toEqual([`${REPO}/main/.meta/model.safetensors.json`, `${REPO}/main/model.safetensors`]);
    expectBytes(new Uint8Array(await readFile(join(cacheDir, REPO, 'main/model.safetensors'))), original['model.safetensors']);
    // A model loads from such a stream, and the next load opens the cached copy instead.
    const config = parseConfig(new TextDecoder().decode(original['config.json']), 'config.json');
    await rm(cacheDir, { recursive: true, force: true });
    const streamed = (await openFile(hub(), 'model.safetensors')) as StreamedFile;
    await AlbertModel.fromCheckpoint(config, await SafeTensors.open(streamed));
    await streamed.close();
    expect(await filesUnder(cacheDir)).toContain(`${REPO}/main/model.safetensors`);
    expect(((await openFile(hub(), 'model.safetensors')) as Partial<StreamedFile>).peakHeldBytes).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('leaves no cache entry, nor a partial file, when a streamed download is cut off or closed early', async () => {
    behaviour.cutBodies = true;
    const cut = await openFile(hub(), 'model.safetensors');
    const size = original['model.safetensors']!.length;
    await expect(cut.read(new Uint8Array(size), 0)).rejects.toThrow(/download of model\.safetensors from .* was cut off after \d+ of \d+ bytes/);
    await cut.close();
    expect(await filesUnder(cacheDir)).toEqual([]);
    // Larger than what a stream reads ahead of its reads (8 MB), so that closing it cancels it.
    behaviour.cutBodies = false;
    behaviour.files['model.safetensors'] = new Uint8Array(20 << 20);
    const abandoned = await openFile(hub(), 'model.safetensors');
    await abandoned.read(new Uint8Array(8), 0);
    await abandoned.close();
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  it('maps a missing file to not found, and a missing repository to a clear error', async () => {
    const source = hub();
    expect(await source.tryRead('tokenizer.json')).toBeUndefined();
    const missingFile = await rejection(source.read('spiece.model'));
    expect(missingFile.code).toBe('SOURCE_NOT_FOUND');
    expect(missingFile.message).toBe(`spiece.model not found in hub model "${REPO}" (revision main) at ${server.origin}`);

    const missingRepo = await rejection(openSource('nobody/no-such-model', { endpoint: server.origin, cacheDir }).tryRead('config.json'));
    expect(missingRepo.code).toBe('SOURCE_NOT_FOUND');
    expect(missingRepo.message).toBe(`hub model "nobody/no-such-model" not found at ${server.origin} (HTTP 401 for config.json; a private or gated model needs a token, which albert-wasm does not send)`);
  });

  it('takes the endpoint from HF_ENDPOINT', async () => {
    vi.stubEnv('HF_ENDPOINT', `${server.origin}/`);
    const source = openSource(REPO, { cacheDir, hub: true });
    expect(source.description).toBe(`hub model "${REPO}" (revision main) at ${server.origin}`);
    expect(await source.read('config.json')).toEqual(original['config.json']);
  });

  it('puts the revision in the URL and the cache path, escaped', async () => {
    expectBytes(await hub({ revision: 'refs/pr/1' }).read('model.safetensors'), original['model.safetensors']);
    expect(seen[0]!.path).toBe(`/${REPO}/resolve/refs%2Fpr%2F1/model.safetensors`);
    expect(await filesUnder(cacheDir)).toContain(`${REPO}/refs%2Fpr%2F1/model.safetensors`);
  });

  it('uses a cached file without asking when revalidate is false or the revision is a commit', async () => {
    const commit = '0123456789abcdef0123456789abcdef01234567';
    await hub().read('config.json');
    await hub({ revision: commit }).read('config.json');
    seen.length = 0;
    expect(await hub({ revalidate: false }).read('config.json')).toEqual(original['config.json']);
    expect(await hub({ revision: commit }).read('config.json')).toEqual(original['config.json']);
    expect(seen).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('still returns the download when the cache cannot be written, with a warning', async () => {
    const notADirectory = join(cacheDir, 'file');
    await writeFile(notADirectory, 'x');
    expect(await hub({ cacheDir: notADirectory }).read('config.json')).toEqual(original['config.json']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`could not cache config\.json in cache directory ${notADirectory}: .*(ENOTDIR|EEXIST)`));
  });

  it('writes nothing with cache: false', async () => {
    expect(await hub({ cache: false }).read('config.json')).toEqual(original['config.json']);
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  it('prefers an existing local directory named like a hub id, unless hub: true', async () => {
    const cwd = process.cwd();
    const workdir = await mkdtemp(join(tmpdir(), 'albert-cwd-'));
    try {
      await mkdir(join(workdir, REPO), { recursive: true });
      process.chdir(workdir);
      const local = openSource(REPO, { endpoint: server.origin, cacheDir });
      expect(await local.tryRead('config.json')).toBeUndefined();
      expect(local.description).toBe(`directory ${REPO}`);
      expect(await openSource(REPO, { endpoint: server.origin, cacheDir, hub: true }).read('config.json')).toEqual(original['config.json']);
      expect(openSource(REPO, { hub: false }).description).toBe(`directory ${REPO}`);
    } finally {
      process.chdir(cwd);
      await rm(workdir, { recursive: true, force: true });
    }
  });

  it('rejects ids and file names that are not inside one repository', async () => {
    for (const id of ['../x', 'a/b/c', 'albert-base-v2', 'a b/c']) {
      expect(() => openSource(id, { hub: true })).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    }
    for (const file of ['../secrets', '/etc/passwd', 'a//b', '']) {
      expect((await rejection(hub().read(file))).code).toBe('INPUT_INVALID');
    }
    expect(seen).toEqual([]);
  });
});

describe('download cache location', () => {
  it('honours HF_HOME, then XDG_CACHE_HOME, then ~/.cache', async () => {
    vi.stubEnv('HF_HOME', '/data/hf');
    expect(await defaultCacheDirectory()).toBe('/data/hf/albert-wasm');
    vi.stubEnv('HF_HOME', '');
    vi.stubEnv('XDG_CACHE_HOME', '/data/xdg');
    expect(await defaultCacheDirectory()).toBe('/data/xdg/huggingface/albert-wasm');
    vi.stubEnv('XDG_CACHE_HOME', '');
    expect(await defaultCacheDirectory()).toBe(join((await import('node:os')).homedir(), '.cache/huggingface/albert-wasm'));
    vi.unstubAllEnvs();
  });

  it('uses the default directory when no cacheDir is given', async () => {
    vi.stubEnv('HF_HOME', cacheDir);
    expect(await openSource(REPO, { endpoint: server.origin, hub: true }).read('config.json')).toEqual(original['config.json']);
    expect((await stat(join(cacheDir, 'albert-wasm', REPO, 'main/config.json'))).size).toBe(original['config.json']!.length);
  });
});

describe('Cache Storage cache (browsers and workers)', () => {
  /** Just enough of the Cache interface: a map from URL to a stored response. */
  function memoryCache(): Cache {
    const entries = new Map<string, Response>();
    return {
      match: async (url: string) => entries.get(url)?.clone(),
      // As the real one: the entry exists once its body has been read whole, and not if that fails.
      put: async (url: string, response: Response) => {
        const body = await response.arrayBuffer();
        entries.set(url, new Response(body, { status: response.status, headers: response.headers }));
      },
      delete: async (url: string) => entries.delete(url),
    } as unknown as Cache;
  }
  const key = { repo: REPO, revision: 'main', file: 'config.json', url: 'https://hub.example/x/config.json' };

  it('stores and finds a file with its ETag', async () => {
    const cache = new CacheStorageCache(memoryCache());
    expect(await cache.lookup(key)).toBeUndefined();
    await cache.store(key, original['config.json']!, '"abc"');
    const entry = await cache.lookup(key);
    if (!entry || entry.missing) throw new Error('expected a stored entry');
    expect(await readWhole(await entry.open())).toEqual(original['config.json']);
    expect(entry?.etag).toBe('"abc"');
    expect(entry?.location).toBe('Cache Storage "albert-wasm" (https://hub.example/x/config.json)');
  });

  it('stores a download written as it arrives only when it all came', async () => {
    const cache = new CacheStorageCache(memoryCache());
    const cut = await cache.begin(key, '"abc"', 10);
    cut.write(new Uint8Array(4));
    await cut.end(false);
    expect(await cache.lookup(key)).toBeUndefined();
    const whole = await cache.begin(key, '"abc"', 10);
    whole.write(new Uint8Array([1, 2, 3, 4]));
    whole.write(new Uint8Array([5, 6, 7, 8, 9, 10]));
    await whole.end(true);
    const entry = await cache.lookup(key);
    if (!entry || entry.missing) throw new Error('expected a stored entry');
    expect(await readWhole(await entry.open())).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  });

  it('streams an entry out, and fails one whose body is shorter than stored, dropping it', async () => {
    const storage = memoryCache();
    await storage.put(key.url, new Response(new Uint8Array(3), { headers: { 'content-length': '10' } }));
    const cache = new CacheStorageCache(storage);
    const entry = await cache.lookup(key);
    if (!entry || entry.missing) throw new Error('expected a stored entry');
    await expect(readWhole(await entry.open())).rejects.toThrow(
      'download of config.json from Cache Storage "albert-wasm" (https://hub.example/x/config.json) is truncated: received 3 of 10 bytes',
    );
    expect(await cache.lookup(key)).toBeUndefined();
  });

  it('reads an entry without a length whole', async () => {
    const storage = memoryCache();
    await storage.put(key.url, new Response(new Uint8Array([1, 2, 3])));
    const entry = await new CacheStorageCache(storage).lookup(key);
    if (!entry || entry.missing) throw new Error('expected a stored entry');
    expect(await readWhole(await entry.open())).toEqual(new Uint8Array([1, 2, 3]));
  });
});
