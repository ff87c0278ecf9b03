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
import { BASE_WITH_TOKENIZER_PATH, bin, cacheApiServer, chromiumPath, CROSS_ORIGIN_ISOLATION, fixtureServer, HUB_PATH, kernelModules, ROOT, runCommand, startWorkerd, withChromium } from './launch.js';

declare module 'vitest' {
  interface TaskMeta {
    /** Collected by test/runtimes/measure.mjs for bench/RESULTS.md. */
    coldStart?: { fixture: string; kernels: string; wallMs: number; firstResultMs: number; wasmMemoryBytes: number; peakRssBytes?: number };
    /** What each load of a threads or int8 check ran on, and how large its wasm memory grew. */
    loads?: { options: LoadOptions; info: LoadInfo; wasmMemoryBytes: number; minCosine?: number }[];
  }
}

/** The AlbertModel.load options a probe passes on. */
interface LoadOptions {
  threads?: number;
  dtype?: 'f32' | 'int8';
  hub?: boolean;
  endpoint?: string;
}

/** The model's `info` after a load, as the probe reports it. */
interface LoadInfo {
  kernels: string;
  threads: number;
  threadsNote?: string;
  dtype: string;
  weightBytes: number;
}

type Outputs = Record<string, Record<string, { dims: number[]; data: number[] }>>;

interface ProbeRun {
  options: LoadOptions;
  info: LoadInfo;
  outputs: Outputs;
  wasmMemoryBytes: number;
}

interface ProbeRequest {
  /** Load a fixture and run cases on it. */
  model?: {
    fixture: string;
    cases: { name: string; inputs: object }[];
    outputs: string[];
    loads?: LoadOptions[];
    /** Chromium: load this hub id (through the fixture server's hub) instead of the fixture's bytes. */
    hubId?: string;
    /** Node, Deno, Bun: load from this URL prefix instead of the fixture's bytes. */
    url?: string;
  };
  /** Encode texts with albert-base-v2's spiece.model. */
  tokenize?: { text: string; addSpecialTokens: boolean }[];
}

interface ProbeAnswer {
  runtime: string;
  /** The first load's outputs. */
  outputs?: Outputs;
  /** Each load's, in the order of `model.loads`. */
  runs?: ProbeRun[];
  /** Chromium: whether the page was cross-origin isolated. */
  crossOriginIsolated?: boolean;
  /** Chromium: the library's Cache Storage after the loads, each entry's Content-Length by URL. */
  cached?: Record<string, string | null>;
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
 * as wasm modules. The fixture's files are data bindings, or with `modelSource` (a URL prefix or a hub
 * id) the library fetches them; `cacheApi` gives workerd a Cache API (cacheApiServer).
 */
function workerdProbe(modelSource?: (fixture: string) => string, cacheApi?: string): Probe {
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
        ...(modelSource
          ? []
          : [
              { name: 'MODEL_CONFIG', data: `${FIXTURES_DIR}${fixture}/config.json` },
              { name: 'MODEL_WEIGHTS', data: `${FIXTURES_DIR}${fixture}/model.safetensors` },
            ]),
        { name: 'SPIECE', data: SPIECE },
      ],
      cacheApi,
    });
    try {
      const body = { ...request, model: request.model && { ...request.model, url: modelSource?.(fixture) } };
      const response = await fetch(workerd.origin, { method: 'POST', body: JSON.stringify(body) });
      if (!response.ok) throw new Error(`workerd answered HTTP ${response.status}:\n${await response.text()}`);
      const answer = (await response.json()) as ProbeAnswer;
      return { answer, wallMs: performance.now() - started, peakRssBytes: await workerd.peakRssBytes() };
    } finally {
      await workerd.close();
    }
  };
}

/** Chromium opens probe.html, which fetches the files from the fixture server (the page and all: give it CROSS_ORIGIN_ISOLATION for threads). */
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

/** `check`'s request, its model loaded once per entry of `loads`. */
function withLoads({ expected, request }: ModelCheck, loads: LoadOptions[]): ModelCheck {
  return { expected, request: { model: { ...request.model!, loads } } };
}

/** Every requested output of every case of one run within 1e-4 of the float64 reference. */
function expectRunMatches({ expected, request }: ModelCheck, run: ProbeRun, runtime: string) {
  for (const c of expected.cases) {
    for (const name of request.model!.outputs) {
      const got = run.outputs[c.name]?.[name];
      const what = `${runtime} ${JSON.stringify(run.options)}: ${c.name} ${name}`;
      expect(got?.dims, what).toEqual(c.outputs[name].shape);
      expect(mismatch(got!.data, c.outputs[name].f64), what).toBeUndefined();
    }
  }
}

/** The smallest cosine, over every valid token of every case, between a run's last_hidden_state and the float64 reference's. */
function minTokenCosine({ expected }: ModelCheck, run: ProbeRun): number {
  let min = Infinity;
  for (const c of expected.cases) {
    const { dims, data } = run.outputs[c.name].last_hidden_state;
    const reference = c.outputs.last_hidden_state.f64 as number[];
    const [B, T, H] = dims;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        if (!c.valid_positions[b][t]) continue;
        let [dot, aa, bb] = [0, 0, 0];
        for (let h = (b * T + t) * H, end = h + H; h < end; h++) {
          dot += data[h] * reference[h];
          aa += data[h] * data[h];
          bb += reference[h] * reference[h];
        }
        min = Math.min(min, dot / Math.sqrt(aa * bb));
      }
    }
  }
  return min;
}

/** fixtures/tiny loaded on 1 thread, then asked for 2. */
const TINY_THREADS = withLoads(TINY, [{}, { threads: 2 }]);
/** fixtures/tiny with int8 encoder weights: only the hidden state, judged by cosine. */
const TINY_INT8 = withLoads(modelCheck('tiny', undefined, ['last_hidden_state']), [{ dtype: 'int8' }]);
/** fixtures/base as f32, then as int8. */
const BASE_INT8 = withLoads(modelCheck('base', ['single'], ['last_hidden_state']), [{}, { dtype: 'int8' }]);

/** The note of a load that asked for 2 threads and runs 1 names the cause: workerd has no Worker; a page without COOP/COEP is not cross-origin isolated. */
const FELL_BACK = /^2 threads asked for, running on 1: (this runtime has no Worker|the page is not cross-origin isolated \(COOP\/COEP headers\))$/;

/** What a runtime should do with `threads: 2`: run them, or run 1 and say why. */
type ThreadsExpected = { threads: 2 } | { threads: 1; note: RegExp };

/**
 * fixtures/tiny asked for 2 threads: still as PyTorch within 1e-4, and either on 2 threads of a
 * threads build giving the very numbers of the 1-thread load, or on 1 with a note matching `note`.
 */
async function expectThreads(probe: Probe, expected: ThreadsExpected, context: TestContext): Promise<ProbeAnswer> {
  const { answer } = await probe(TINY_THREADS.request);
  const [one, two] = answer.runs!;
  context.task.meta.loads = answer.runs!.map(({ options, info, wasmMemoryBytes }) => ({ options, info, wasmMemoryBytes }));
  expectRunMatches(TINY_THREADS, one, answer.runtime);
  expectRunMatches(TINY_THREADS, two, answer.runtime);
  expect(one.info.threads, answer.runtime).toBe(1);
  if (expected.threads === 2) {
    expect(two.info, `${answer.runtime}: threads: 2`).toMatchObject({ threads: 2, kernels: expect.stringMatching(/threads$/) });
    expect(two.info.threadsNote, answer.runtime).toBeUndefined();
    // The splits never change an element's arithmetic: the same numbers as on one thread.
    expect(two.outputs, `${answer.runtime}: 2 threads vs 1`).toEqual(one.outputs);
  } else {
    expect(two.info.threads, answer.runtime).toBe(1);
    expect(two.info.threadsNote, answer.runtime).toMatch(expected.note);
  }
  return answer;
}

/** int8 tiny: cosine ≥ 0.9995 per token to PyTorch's float64 hidden state. */
async function expectInt8Tiny(probe: Probe, context: TestContext) {
  const { answer } = await probe(TINY_INT8.request);
  const [run] = answer.runs!;
  const minCosine = minTokenCosine(TINY_INT8, run);
  context.task.meta.loads = [{ options: run.options, info: run.info, wasmMemoryBytes: run.wasmMemoryBytes, minCosine }];
  expect(run.info.dtype, answer.runtime).toBe('int8');
  expect(minCosine, `${answer.runtime}: int8 tiny, cosine per token to PyTorch`).toBeGreaterThanOrEqual(0.9995);
}

const DENO = [bin('deno'), 'run', `--allow-read=${ROOT},${FIXTURES_DIR},${BASE_V2_DIR}`, '--allow-net=127.0.0.1'];

describe.each([
  ['node', [process.execPath]],
  ['deno', DENO],
  ['bun', [bin('bun')]],
])('%s', (_, command) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await fixtureServer();
  });
  afterAll(() => server.close());

  it('runs fixtures/tiny, loaded from bytes, as PyTorch does', (context) => expectReference(TINY, commandProbe(command), context));
  it('runs fixtures/base, loaded from bytes, as PyTorch does', (context) => expectReference(BASE, commandProbe(command), context));
  it('runs fixtures/tiny on 2 threads when asked, with the numbers of 1 thread', (context) =>
    expectThreads(commandProbe(command), { threads: 2 }, context));
  it('runs fixtures/tiny with int8 weights, cosine ≥ 0.9995 per token to PyTorch', (context) => expectInt8Tiny(commandProbe(command), context));
  it('tokenizes as albert-base-v2 does', () => expectPublishedIds(commandProbe(command)));
  it('runs fixtures/base, streamed from a URL into place, as PyTorch does', async (context) => {
    const { expected, request } = BASE;
    await expectReference({ expected, request: { model: { ...request.model!, url: `${server.origin}/fixtures/base` } } }, commandProbe(command), context);
    // The cold starts in bench/RESULTS.md (test/runtimes/measure.mjs) are the loads from bytes.
    delete context.task.meta.coldStart;
  });
});

describe('workerd', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await fixtureServer();
  });
  afterAll(() => server.close());

  it('runs fixtures/tiny from data bindings, with the wasm imported as a module, as PyTorch does', (context) =>
    expectReference(TINY, workerdProbe(), context));

  it('runs fixtures/base, its weights streamed from a URL into place, as PyTorch does and within the 128 MB isolate limit', async (context) => {
    const { answer, peakRssBytes } = await expectReference(BASE, workerdProbe((fixture) => `${server.origin}/fixtures/${fixture}`), context);
    // Above what workerd itself takes (fixtures/tiny from bindings), the process holds the wasm
    // memory and little more: the 45 MiB checkpoint streams into place, never whole in the isolate
    // (held whole, it added 66 MiB of JS memory to the wasm memory's 46).
    const { peakRssBytes: workerdItself } = await workerdProbe()(TINY.request);
    const isolateBytes = peakRssBytes! - workerdItself!;
    expect(isolateBytes).toBeLessThan(answer.wasmMemoryBytes! + 24 * 2 ** 20);
    expect(isolateBytes).toBeLessThan(96 * 2 ** 20);
  });

  it('runs fixtures/tiny on 1 thread when asked for 2, and says why (no Worker)', (context) =>
    expectThreads(workerdProbe(), { threads: 1, note: FELL_BACK }, context));

  it('runs fixtures/tiny by hub id, as PyTorch does, where no cache is configured (so downloading it each time)', async () => {
    const hub = { hub: true, endpoint: `${server.origin}${HUB_PATH}` };
    const check = withLoads(TINY, [hub, hub]);
    const before = server.requests.length;
    const { answer } = await workerdProbe(() => 'fixtures/tiny')(check.request);
    for (const run of answer.runs!) expectRunMatches(check, run, answer.runtime);
    expect(server.requests.slice(before).filter((path) => path.endsWith('/model.safetensors'))).toHaveLength(2);
  });

  it('runs fixtures/base by hub id, streamed into place and into the Cache API, then from the cache, as PyTorch does', async () => {
    const cache = await cacheApiServer();
    try {
      const hub = { hub: true, endpoint: `${server.origin}${HUB_PATH}` };
      const check = withLoads(BASE, [hub, hub]);
      const before = server.requests.length;
      const { answer } = await workerdProbe(() => 'fixtures/base', new URL(cache.origin).host)(check.request);
      for (const run of answer.runs!) expectRunMatches(check, run, answer.runtime);
      // The second load read the cached copy: the weights were downloaded once, and stored whole.
      expect(server.requests.slice(before).filter((path) => path.endsWith('/model.safetensors'))).toHaveLength(1);
      // With its length (so the second load streamed it out too), where a plain stream is stored chunked.
      const stored = [...cache.entries].find(([url]) => url.endsWith('/model.safetensors'))?.[1];
      expect(stored?.subarray(0, 200).toString('latin1')).toContain(`\r\nContent-Length: ${statSync(`${FIXTURES_DIR}base/model.safetensors`).size}\r\n`);
    } finally {
      await cache.close();
    }
  });

  it('runs fixtures/tiny with int8 weights, cosine ≥ 0.9995 per token to PyTorch', (context) => expectInt8Tiny(workerdProbe(), context));

  it('runs fixtures/base with int8 weights in less wasm memory than f32, cosine ≥ 0.9995 per token to PyTorch', async (context) => {
    const { answer } = await workerdProbe((fixture) => `${server.origin}/fixtures/${fixture}`)(BASE_INT8.request);
    const [f32, int8] = answer.runs!;
    const minCosine = minTokenCosine(BASE_INT8, int8);
    context.task.meta.loads = answer.runs!.map(({ options, info, wasmMemoryBytes }, i) => ({ options, info, wasmMemoryBytes, ...(i ? { minCosine } : {}) }));
    expectRunMatches(BASE_INT8, f32, answer.runtime);
    expect(int8.info.dtype).toBe('int8');
    expect(minCosine, 'int8 base, cosine per token to PyTorch').toBeGreaterThanOrEqual(0.9995);
    expect(int8.info.weightBytes).toBeLessThan(0.56 * f32.info.weightBytes);
    expect(int8.wasmMemoryBytes).toBeLessThan(f32.wasmMemoryBytes);
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

  it('runs fixtures/tiny on 1 thread when asked for 2 on a page without COOP/COEP, and says why', async (context) => {
    const answer = await expectThreads(chromiumProbe(chromiumPath(context), server), { threads: 1, note: FELL_BACK }, context);
    expect(answer.crossOriginIsolated).toBe(false);
  });

  it('runs fixtures/tiny on 2 threads on a cross-origin-isolated page, with the numbers of 1 thread', async (context) => {
    const isolated = await fixtureServer(CROSS_ORIGIN_ISOLATION);
    try {
      const answer = await expectThreads(chromiumProbe(chromiumPath(context), isolated), { threads: 2 }, context);
      expect(answer.crossOriginIsolated).toBe(true);
    } finally {
      await isolated.close();
    }
  });

  it('runs fixtures/tiny with int8 weights, cosine ≥ 0.9995 per token to PyTorch', (context) =>
    expectInt8Tiny(chromiumProbe(chromiumPath(context), server), context));

  it('runs fixtures/base by hub id, streamed into place and into Cache Storage, then from the cache, as PyTorch does', async (context) => {
    const hub = { hub: true, endpoint: `${server.origin}${HUB_PATH}` };
    const check = withLoads(BASE, [hub, hub]);
    check.request.model!.hubId = 'fixtures/base';
    const weightsUrl = `${server.origin}${HUB_PATH}/fixtures/base/resolve/main/model.safetensors`;
    const before = server.requests.length;
    const { answer } = await chromiumProbe(chromiumPath(context), server)(check.request);
    for (const run of answer.runs!) expectRunMatches(check, run, answer.runtime);
    // Stored with its length, so that the second load streamed it out of the cache too.
    expect(answer.cached?.[weightsUrl]).toBe(String(statSync(`${FIXTURES_DIR}base/model.safetensors`).size));
    // The second load opened the cached copy: the weights were downloaded once.
    expect(server.requests.slice(before).filter((path) => weightsUrl.endsWith(path))).toHaveLength(1);
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

  it("declare types that check without Node's (as in a browser, Deno or worker project)", async () => {
    const types = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).exports['.'].types as string;
    const tsc = [join(ROOT, 'node_modules/typescript/bin/tsc'), '--ignoreConfig', '--noEmit', '--strict', '--types', '', '--lib', 'es2022,dom'];
    await runCommand([process.execPath, ...tsc, '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', join(ROOT, types)]);
  });
});
