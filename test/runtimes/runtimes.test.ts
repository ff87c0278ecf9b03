/**
 * The same checks in every runtime the package promises: Node, Deno, Bun (as commands), Cloudflare
 * workerd (over HTTP) and Chromium (a page driven by playwright-core). Each imports the built dist/
 * by the package's name, so the `exports` conditions pick the bundle; probe.js runs the checks there.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { BASE_V2_DIR, expectedOf, FIXTURES_DIR, inputsOf, mismatch, PUBLISHED_IDS, type Expected } from '../helpers/fixtures.js';
import type { TestServer } from '../io/http-server.js';
import { BASE_WITH_TOKENIZER_PATH, bin, chromiumPath, fixtureServer, kernelModules, ROOT, runCommand, startWorkerd, withChromium } from './launch.js';

declare module 'vitest' {
  interface TaskMeta {
    /** Collected by test/runtimes/measure.mjs for bench/RESULTS.md. */
    coldStart?: { fixture: string; kernels: string; wallMs: number; firstResultMs: number; wasmMemoryBytes: number; peakRssBytes?: number };
  }
}

interface ProbeRequest {
  /** Load a fixture and run cases on it. */
  model?: { fixture: string; cases: { name: string; inputs: object }[]; outputs: string[] };
  /** Encode texts with albert-base-v2's spiece.model. */
  tokenize?: { text: string; addSpecialTokens: boolean }[];
}

interface ProbeAnswer {
  runtime: string;
  outputs?: Record<string, Record<string, { dims: number[]; data: number[] }>>;
  /** From the library's import to the first forward result, by the runtime's clock (workerd's stands still while code runs). */
  firstResultMs?: number;
  /** The largest the wasm linear memory grew to. */
  wasmMemoryBytes?: number;
  /** The kernel build the library picked in this runtime (`info.kernels`). */
  kernels?: string;
  ids?: number[][];
}

interface Probed {
  answer: ProbeAnswer;
  /** From starting the runtime (Chromium: from opening the page) to having the answer. */
  wallMs: number;
  /** workerd: the process's peak resident memory, all of workerd included. */
  peakRssBytes?: number;
}

type Probe = (request: ProbeRequest) => Promise<Probed>;

const SPIECE = `${BASE_V2_DIR}spiece.model`;
const PROBE_DIR = join(ROOT, 'test/runtimes');

/** Node, Deno and Bun run probe-cli.mjs, which reads the files from disk. */
function commandProbe(command: string[]): Probe {
  return async (request) => {
    const withFiles = { ...request, model: request.model && { ...request.model, files: `${FIXTURES_DIR}${request.model.fixture}` }, spiece: SPIECE };
    const { stdout, wallMs } = await runCommand([...command, join(PROBE_DIR, 'probe-cli.mjs')], JSON.stringify(withFiles));
    return { answer: JSON.parse(stdout), wallMs };
  };
}

/**
 * workerd runs probe-worker.mjs with the package's `workerd` bundle as `albert-wasm` and the kernels
 * as wasm modules. The fixture's files are data bindings, or with `modelUrl` the library fetches them.
 */
function workerdProbe(modelUrl?: (fixture: string) => string): Probe {
  return async (request) => {
    const started = performance.now();
    const fixture = request.model?.fixture ?? 'tiny';
    const workerd = await startWorkerd({
      modules: [
        ['worker.js', 'esModule', join(PROBE_DIR, 'probe-worker.mjs')],
        ['probe.js', 'esModule', join(PROBE_DIR, 'probe.js')],
        ['albert-wasm', 'esModule', join(ROOT, 'dist/workerd.js')],
        ...kernelModules(),
      ],
      bindings: [
        ...(modelUrl
          ? []
          : [
              { name: 'MODEL_CONFIG', data: `${FIXTURES_DIR}${fixture}/config.json` },
              { name: 'MODEL_WEIGHTS', data: `${FIXTURES_DIR}${fixture}/model.safetensors` },
            ]),
        { name: 'SPIECE', data: SPIECE },
      ],
    });
    try {
      const body = { ...request, model: request.model && { ...request.model, url: modelUrl?.(fixture) } };
      const response = await fetch(workerd.origin, { method: 'POST', body: JSON.stringify(body) });
      if (!response.ok) throw new Error(`workerd answered HTTP ${response.status}:\n${await response.text()}`);
      const answer = (await response.json()) as ProbeAnswer;
      return { answer, wallMs: performance.now() - started, peakRssBytes: await workerd.peakRssBytes() };
    } finally {
      await workerd.close();
    }
  };
}

/** Chromium opens probe.html, which fetches the files from the fixture server. */
function chromiumProbe(executablePath: string, server: TestServer): Probe {
  return (request) =>
    withChromium(executablePath, async (page) => {
      const started = performance.now();
      await page.goto(`${server.origin}/test/runtimes/probe.html`);
      const withUrls = {
        ...request,
        model: request.model && { ...request.model, files: `${server.origin}/fixtures/${request.model.fixture}` },
        spiece: `${server.origin}${BASE_WITH_TOKENIZER_PATH}/spiece.model`,
      };
      const answer = await page.evaluate((r) => (window as unknown as { probe(r: object): Promise<ProbeAnswer> }).probe(r), withUrls);
      return { answer, wallMs: performance.now() - started };
    });
}

interface ModelCheck {
  expected: Expected;
  request: ProbeRequest;
}

function modelCheck(fixture: string, caseNames: string[] | undefined, outputs: string[]): ModelCheck {
  const all = expectedOf(fixture);
  const expected = { ...all, cases: all.cases.filter((c) => !caseNames || caseNames.includes(c.name)) };
  return { expected, request: { model: { fixture, cases: expected.cases.map((c) => ({ name: c.name, inputs: inputsOf(c) })), outputs } } };
}

/** Every case of fixtures/tiny, the masked-LM head included. */
const TINY = modelCheck('tiny', undefined, ['last_hidden_state', 'pooler_output', 'logits']);
/** The albert-base-v2 geometry (47 MB of f32 weights); the reference has full tensors for `single` (L12). */
const BASE = modelCheck('base', ['single'], ['last_hidden_state', 'pooler_output']);

/** Every requested output of every case within 1e-4 (absolute or relative) of the float64 reference. */
async function expectReference({ expected, request }: ModelCheck, probe: Probe, context: TestContext): Promise<Probed> {
  const probed = await probe(request);
  const { answer } = probed;
  for (const c of expected.cases) {
    for (const name of request.model!.outputs) {
      const got = answer.outputs?.[c.name]?.[name];
      expect(got?.dims, `${answer.runtime}: ${c.name} ${name}`).toEqual(c.outputs[name].shape);
      expect(mismatch(got!.data, c.outputs[name].f64), `${answer.runtime}: ${c.name} ${name}`).toBeUndefined();
    }
  }
  context.task.meta.coldStart = {
    fixture: request.model!.fixture,
    kernels: answer.kernels!,
    wallMs: probed.wallMs,
    firstResultMs: answer.firstResultMs!,
    wasmMemoryBytes: answer.wasmMemoryBytes!,
    peakRssBytes: probed.peakRssBytes,
  };
  return probed;
}

async function expectPublishedIds(probe: Probe) {
  const { answer } = await probe({ tokenize: PUBLISHED_IDS.map(({ text, addSpecialTokens }) => ({ text, addSpecialTokens })) });
  expect(answer.ids, answer.runtime).toEqual(PUBLISHED_IDS.map((v) => v.ids));
}

const DENO = [bin('deno'), 'run', `--allow-read=${ROOT},${FIXTURES_DIR},${BASE_V2_DIR}`];

describe.each([
  ['node', [process.execPath]],
  ['deno', DENO],
  ['bun', [bin('bun')]],
])('%s', (_, command) => {
  it('runs fixtures/tiny, loaded from bytes, as PyTorch does', (context) => expectReference(TINY, commandProbe(command), context));
  it('runs fixtures/base, loaded from bytes, as PyTorch does', (context) => expectReference(BASE, commandProbe(command), context));
  it('tokenizes as albert-base-v2 does', () => expectPublishedIds(commandProbe(command)));
});

describe('workerd', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await fixtureServer();
  });
  afterAll(() => server.close());

  it('runs fixtures/tiny from data bindings, with the wasm imported as a module, as PyTorch does', (context) =>
    expectReference(TINY, workerdProbe(), context));

  it('runs fixtures/base, its weights fetched from a URL, as PyTorch does and within the 128 MB isolate limit', async (context) => {
    const { answer } = await expectReference(BASE, workerdProbe((fixture) => `${server.origin}/fixtures/${fixture}`), context);
    // The peak is while the weights are packed: the downloaded checkpoint and the wasm memory are
    // both alive. Cloudflare counts both against 128 MB, and the JS heap needs the rest.
    const checkpointBytes = statSync(`${FIXTURES_DIR}base/model.safetensors`).size;
    expect(answer.wasmMemoryBytes! + checkpointBytes).toBeLessThan(112 * 2 ** 20);
  });

  it('tokenizes as albert-base-v2 does', () => expectPublishedIds(workerdProbe()));
});

describe('chromium', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await fixtureServer();
  });
  afterAll(() => server.close());

  it('runs fixtures/tiny, fetched into the page, with the wasm compiled as it streams, as PyTorch does', (context) =>
    expectReference(TINY, chromiumProbe(chromiumPath(context), server), context));
  it('runs fixtures/base, fetched into the page, as PyTorch does', (context) =>
    expectReference(BASE, chromiumProbe(chromiumPath(context), server), context));
  it('tokenizes as albert-base-v2 does', (context) => expectPublishedIds(chromiumProbe(chromiumPath(context), server)));
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

  it("declare types that check without Node's (as in a browser, Deno or worker project)", async () => {
    const types = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).exports['.'].types as string;
    const tsc = [join(ROOT, 'node_modules/typescript/bin/tsc'), '--ignoreConfig', '--noEmit', '--strict', '--types', '', '--lib', 'es2022,dom'];
    await runCommand([process.execPath, ...tsc, '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', join(ROOT, types)]);
  });
});
