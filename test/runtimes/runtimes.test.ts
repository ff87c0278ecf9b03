/**
 * The same checks in every runtime the package promises: Node, Deno, Bun (as commands), Cloudflare
 * workerd (over HTTP) and Chromium (a page, driven by playwright-core). Each runs the built dist/
 * through the package's own name, so the `exports` conditions are what picks the bundle.
 */
import { existsSync, statSync } from 'node:fs';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { expectedOf, FIXTURES_DIR, inputsOf, mismatch, type Expected } from '../helpers/fixtures.js';
import type { TestServer } from '../io/http-server.js';
import { fixtureServer, probeChromium, probeCommand, probeWorkerd, ROOT, type Probed, type ProbeRequest } from './launch.js';

declare module 'vitest' {
  interface TaskMeta {
    /** Collected by test/runtimes/measure.mjs for bench/RESULTS.md. */
    coldStart?: { fixture: string; wallMs: number; firstResultMs: number; wasmMemoryBytes: number; peakRssBytes?: number };
  }
}

interface Check {
  expected: Expected;
  request: ProbeRequest;
}

function check(fixture: string, caseNames: string[] | undefined, outputs: string[]): Check {
  const all = expectedOf(fixture);
  const expected = { ...all, cases: all.cases.filter((c) => !caseNames || caseNames.includes(c.name)) };
  return { expected, request: { fixture, cases: expected.cases.map((c) => ({ name: c.name, inputs: inputsOf(c) })), outputs } };
}

/** Every case of fixtures/tiny, the masked-LM head included. */
const TINY = check('tiny', undefined, ['last_hidden_state', 'pooler_output', 'logits']);
/** The albert-base-v2 geometry (47 MB of f32 weights); the reference has full tensors for `single` (L12). */
const BASE = check('base', ['single'], ['last_hidden_state', 'pooler_output']);

/** Every requested output of every case within 1e-4 (absolute or relative) of the float64 reference. */
async function expectReference({ expected, request }: Check, probe: (request: ProbeRequest) => Promise<Probed>, context: TestContext) {
  const probed = await probe(request);
  const { answer } = probed;
  for (const c of expected.cases) {
    for (const name of request.outputs) {
      const got = answer.outputs[c.name]?.[name];
      expect(got?.dims, `${answer.runtime}: ${c.name} ${name}`).toEqual(c.outputs[name].shape);
      expect(mismatch(got!.data, c.outputs[name].f64), `${answer.runtime}: ${c.name} ${name}`).toBeUndefined();
    }
  }
  context.task.meta.coldStart = {
    fixture: request.fixture,
    wallMs: probed.wallMs,
    firstResultMs: answer.firstResultMs,
    wasmMemoryBytes: answer.wasmMemoryBytes,
    peakRssBytes: probed.peakRssBytes,
  };
  return probed;
}

describe.each(['node', 'deno', 'bun'] as const)('%s', (runtime) => {
  const probe = (request: ProbeRequest) => probeCommand(runtime, request);
  it('runs fixtures/tiny, loaded from bytes, as PyTorch does', (context) => expectReference(TINY, probe, context));
  it('runs fixtures/base, loaded from bytes, as PyTorch does', (context) => expectReference(BASE, probe, context));
});

describe('workerd', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await fixtureServer();
  });
  afterAll(() => server.close());

  it('runs fixtures/tiny from data bindings, with the wasm imported as a module', (context) => expectReference(TINY, probeWorkerd, context));

  it('runs fixtures/base, weights fetched from a URL, within the 128 MB isolate limit', async (context) => {
    const { answer } = await expectReference(BASE, (request) => probeWorkerd({ ...request, modelUrl: `${server.origin}/fixtures/base` }), context);
    // The isolate's peak is while the weights are packed: the downloaded checkpoint and the wasm
    // memory are both alive. Cloudflare counts both against 128 MB; the JS heap needs the rest.
    const checkpointBytes = statSync(`${FIXTURES_DIR}base/model.safetensors`).size;
    expect(answer.wasmMemoryBytes + checkpointBytes).toBeLessThan(112 * 2 ** 20);
  });
});

describe('chromium', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await fixtureServer();
  });
  afterAll(() => server.close());

  /** CHROMIUM_PATH names the browser; only outside CI may it be missing, and then the tests say they skipped. */
  function chromiumPath(context: TestContext): string {
    const path = process.env.CHROMIUM_PATH;
    if (!path) {
      if (process.env.CI === 'true') throw new Error('CHROMIUM_PATH must be set in CI (.ci/run sets it to /usr/bin/chromium)');
      const why = 'skipped: CHROMIUM_PATH is unset; set it to a Chromium binary (e.g. /usr/bin/chromium) to run the browser tests';
      console.warn(`chromium ${why}`);
      context.skip(why);
    }
    expect(existsSync(path), `CHROMIUM_PATH=${path} does not exist`).toBe(true);
    return path;
  }

  it('runs fixtures/tiny in a page, with the wasm fetched and compiled as it streams', (context) => {
    const path = chromiumPath(context);
    return expectReference(TINY, (request) => probeChromium(request, path, server), context);
  });
  it('runs fixtures/base in a page', (context) => {
    const path = chromiumPath(context);
    return expectReference(BASE, (request) => probeChromium(request, path, server), context);
  });
});

describe('package.json exports', () => {
  // The conditions each tool resolves with: wrangler's for workers, a browser bundler's, and the
  // defaults of Node, Deno and Bun (which the probes above resolve for real).
  it.each([
    ['wrangler (Cloudflare workers)', ['workerd', 'worker', 'browser'], 'dist/workerd.js'],
    ['a browser bundler', ['browser'], 'dist/browser.js'],
    ['Node, Deno, Bun', ['node', 'deno', 'bun'], 'dist/index.js'],
  ])('resolve %s to the bundle tested in that runtime', async (_, conditions, bundle) => {
    const result = await esbuild.build({
      stdin: { contents: "export * from 'albert-wasm';", resolveDir: ROOT },
      bundle: true,
      write: false,
      metafile: true,
      platform: 'neutral',
      conditions,
      external: ['./albert.wasm', 'node:*'],
      logLevel: 'silent',
    });
    expect(Object.keys(result.metafile.inputs)).toContain(bundle);
  });
});
