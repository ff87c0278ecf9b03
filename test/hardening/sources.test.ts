/**
 * Loading from a source that is not one, or from a server that misbehaves (one that stops sending, or
 * announces an impossible size), fails with a typed error in bounded time instead of hanging or crashing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlbertModel } from '../../src/model/albert.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../io/http-server.js';
import { expectAlbertError, expectStillCorrect, fixtureFiles } from './helpers.js';

const STALL_MS = 300;
const tiny = fixtureFiles('tiny');

/** The first path segment picks the behaviour: `ok`; `stall-headers` never answers; `stall-body` sends half of model.safetensors, then nothing; `huge` announces 32 TiB. */
let server: TestServer;
let cacheDir: string;
let reference: AlbertModel;

beforeAll(async () => {
  server = await startServer((req, res) => {
    const parts = (req.url ?? '').split('/');
    const [mode, file] = [parts[1], parts.at(-1)];
    const body = file === 'config.json' ? Buffer.from(tiny.config) : file === 'model.safetensors' ? Buffer.from(tiny.weights) : undefined;
    if (!body) return void res.writeHead(404).end();
    if (mode === 'stall-headers') return; // the request is left open, unanswered
    if (mode === 'huge') return void res.writeHead(200, { 'content-length': String(2 ** 45) }).end(body.subarray(0, 10));
    res.writeHead(200, { 'content-length': body.length, etag: '"v1"' });
    if (mode === 'stall-body' && file === 'model.safetensors') return void res.write(body.subarray(0, body.length >> 1));
    res.end(body);
  });
  cacheDir = await mkdtemp(join(tmpdir(), 'albert-sources-hardening-'));
  reference = await AlbertModel.load(`${FIXTURES_DIR}tiny`);
});
afterAll(async () => {
  await server?.close();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

/** Asserts `load` fails with `code` and `message` within a few stall timeouts, then that other models are unaffected. */
async function expectPromptError(load: () => Promise<unknown>, code: 'SOURCE_FAILED' | 'OUT_OF_MEMORY', message: RegExp) {
  const start = performance.now();
  await expectAlbertError(load, code, message);
  expect(performance.now() - start).toBeLessThan(STALL_MS * 10);
  await expectStillCorrect(reference);
}

describe('the source argument', () => {
  it('null, undefined or a number is refused by name', async () => {
    for (const [source, shown] of [[null, 'null'], [undefined, 'undefined'], [42, 'number']] as const) {
      await expectAlbertError(() => AlbertModel.load(source as never), 'INPUT_INVALID',
        new RegExp(`^model source must be a path, URL, hub id, object of files or FileSource, got ${shown}$`));
      await expectStillCorrect(reference);
    }
  });
});

describe('a URL prefix', () => {
  it('loads from a server that behaves (so the failures below are the server)', async () => {
    await expectStillCorrect(await AlbertModel.load(`${server.origin}/ok/m`, { stallTimeoutMs: STALL_MS }));
  });

  it('whose server never answers fails once nothing has arrived for the stall timeout', async () => {
    await expectPromptError(() => AlbertModel.load(`${server.origin}/stall-headers/m`, { stallTimeoutMs: STALL_MS }), 'SOURCE_FAILED',
      new RegExp(`^could not fetch ${server.origin}/stall-headers/m/config\\.json: nothing received for 0\\.3 s$`));
  });

  it('whose server stops sending mid-file fails the same way, saying how much arrived', async () => {
    await expectPromptError(() => AlbertModel.load(`${server.origin}/stall-body/m`, { stallTimeoutMs: STALL_MS }), 'SOURCE_FAILED',
      new RegExp(`^download of model\\.safetensors from ${server.origin}/stall-body/m/model\\.safetensors was cut off after ${tiny.weights.length >> 1} of ${tiny.weights.length} bytes \\(truncated: nothing received for 0\\.3 s\\)$`));
  });

  it('whose server announces more bytes than memory can hold is refused before reading them', async () => {
    await expectPromptError(() => AlbertModel.load(`${server.origin}/huge/m`), 'OUT_OF_MEMORY',
      new RegExp(`^config\\.json from ${server.origin}/huge/m/config\\.json is 35184372088832 bytes \\(Content-Length\\), more than this runtime can hold in memory$`));
  });
});

describe('a hub id', () => {
  const hub = (mode: string) => ({ hub: true, endpoint: `${server.origin}/${mode}`, cacheDir, stallTimeoutMs: STALL_MS, onWarning: () => {} });

  it('whose server stalls and is not cached fails with SOURCE_FAILED', async () => {
    await expectPromptError(() => AlbertModel.load('owner/never-cached', hub('stall-headers')), 'SOURCE_FAILED',
      /^could not get config\.json of hub model "owner\/never-cached" from .* \(could not fetch .*: nothing received for 0\.3 s\) and it is not in the download cache$/);
  });

  it('whose server stalls after a download was cached uses the cached copy', async () => {
    await expectStillCorrect(await AlbertModel.load('owner/cached', hub('ok')));
    const warnings: string[] = [];
    const start = performance.now();
    const model = await AlbertModel.load('owner/cached', { ...hub('stall-headers'), onWarning: (w) => warnings.push(w) });
    expect(performance.now() - start).toBeLessThan(STALL_MS * 10);
    expect(warnings.join('\n')).toMatch(/nothing received for 0\.3 s.*using the cached copies/);
    await expectStillCorrect(model);
  });
});
