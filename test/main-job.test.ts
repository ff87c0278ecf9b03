import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './io/http-server.js';
import { BASE_V2_DIR, FIXTURES_DIR } from './helpers/fixtures.js';

/**
 * The README's main job, `albert fill-mask "…"`, end to end: the default hub model through a local
 * hub (HF_ENDPOINT), then from the cache with the hub gone, and the embedded stand-in when there is
 * no hub and no cache.
 */
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const TEXT = 'Paris is the [MASK] of France.';
const files: Record<string, Buffer> = {
  'config.json': readFileSync(`${FIXTURES_DIR}base/config.json`),
  'model.safetensors': readFileSync(`${FIXTURES_DIR}base/model.safetensors`),
  'spiece.model': readFileSync(`${BASE_V2_DIR}spiece.model`),
};

async function albert(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the main job: albert fill-mask on the default model', () => {
  let hub: TestServer;
  beforeAll(async () => {
    hub = await startServer((req, res) => {
      const match = /^\/albert\/albert-base-v2\/resolve\/main\/([\w.]+)$/.exec(req.url ?? '');
      const body = match && files[match[1]];
      if (!body) {
        res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found');
        return;
      }
      res.writeHead(200, { 'content-length': body.length, etag: `"${match[1]}-1"` }).end(body);
    });
  });
  afterAll(() => hub?.close());

  it('downloads from the hub, then runs from the cache with the hub gone', async () => {
    const HF_HOME = await mkdtemp(`${tmpdir()}/albert-home-`);
    const first = await albert({ HF_ENDPOINT: hub.origin, HF_HOME }, 'fill-mask', '--json', TEXT);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const predictions = JSON.parse(first.stdout) as { token: number; sequence: string }[];
    expect(predictions).toHaveLength(5);
    expect(predictions[0].sequence).toMatch(/^paris is the .* of france\.$/);
    expect(hub.requests.filter((r) => r.endsWith('model.safetensors'))).toHaveLength(1);

    await hub.close();
    const offline = await albert({ HF_ENDPOINT: hub.origin, HF_HOME }, 'fill-mask', '--json', TEXT);
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.stdout)).toEqual(predictions);
  });

  it('runs on the embedded stand-in, saying so in one line, when there is no hub and no cache', async () => {
    const HF_HOME = await mkdtemp(`${tmpdir()}/albert-home-`);
    const out = await albert({ HF_ENDPOINT: 'http://127.0.0.1:9', HF_HOME }, 'fill-mask', TEXT);
    expect(out.code).toBe(0);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).toMatch(/random weights\): its predictions are meaningless/);
    expect(out.stdout.trim().split('\n')).toHaveLength(5);
  });
});
