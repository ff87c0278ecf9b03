/**
 * The examples, run as their comments tell a user to run them, on fixtures/base's weights with
 * albert-base-v2's tokenizer; their answers are checked against the PyTorch reference.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { expectedOf, mismatch } from '../helpers/fixtures.js';
import type { TestServer } from '../io/http-server.js';
import { BASE_WITH_TOKENIZER_PATH, baseWithTokenizerDirectory, bin, chromiumPath, fixtureServer, kernelModules, ROOT, runCommand, startWorkerd, withChromium } from './launch.js';

/** Encodes to fixtures/base's `single` case: [CLS] … [MASK] … [SEP], twelve tokens. */
const SENTENCE = 'graphnet is used [MASK] extract computational graphs.';

const single = expectedOf('base').cases.find((c) => c.name === 'single')!;

/** The reference top 5 at the [MASK], with fill-mask's scores: the softmax over the vocabulary. */
const REFERENCE_PREDICTIONS = (() => {
  const mask = single.outputs.mlm.masked_positions[0];
  const logsumexp = single.outputs.mlm.per_position.logsumexp.f64[mask.position];
  return (mask.top5_ids as number[]).map((token, i) => ({ token, score: Math.exp(mask.top5_f64[i] - logsumexp) }));
})();

/** The reference sentence embedding: last_hidden_state averaged over the tokens, unit length. */
const REFERENCE_EMBEDDING = (() => {
  const [, L, H] = single.outputs.last_hidden_state.shape as number[];
  const hidden = single.outputs.last_hidden_state.f64 as number[];
  const mean = Array.from({ length: H }, (_, i) => hidden.filter((_, j) => j % H === i).reduce((a, b) => a + b, 0) / L);
  const norm = Math.hypot(...mean);
  return mean.map((x) => x / norm);
})();

function expectReferencePredictions(predictions: { token: number; score: number }[]) {
  expect(predictions.map((p) => p.token)).toEqual(REFERENCE_PREDICTIONS.map((p) => p.token));
  predictions.forEach((p, i) => expect(Math.abs(p.score / REFERENCE_PREDICTIONS[i].score - 1)).toBeLessThan(1e-4));
}

describe.each([
  ['examples/deno.ts', [bin('deno'), 'run', '--allow-read', 'examples/deno.ts']],
  ['examples/bun.ts', [bin('bun'), 'examples/bun.ts']],
])('%s', (_, command) => {
  let modelDir: string;
  beforeAll(async () => {
    modelDir = await baseWithTokenizerDirectory();
  });
  afterAll(() => rm(modelDir, { recursive: true, force: true }));

  it('prints the reference predictions and sentence embedding for a local model directory', async () => {
    const { stdout } = await runCommand([...command, SENTENCE, modelDir]);
    const { predictions, embedding } = JSON.parse(stdout);
    expectReferencePredictions(predictions);
    expect(mismatch(embedding, REFERENCE_EMBEDDING)).toBeUndefined();
  });
});

/** wrangler.jsonc with its whole-line comments removed: the JSON wrangler reads. */
async function wranglerConfig(): Promise<{ main: string; compatibility_date: string; vars: Record<string, string> }> {
  const text = await readFile(join(ROOT, 'examples/worker/wrangler.jsonc'), 'utf8');
  return JSON.parse(text.replace(/^\s*\/\/.*$/gm, ''));
}

describe('examples/worker', () => {
  let server: TestServer;
  let origin: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    server = await fixtureServer();
    const config = await wranglerConfig();
    // Bundled as wrangler bundles it: its export conditions, and .wasm imports kept as wasm modules.
    const outdir = await mkdtemp(join(tmpdir(), 'albert-worker-example-'));
    await esbuild.build({
      entryPoints: [join(ROOT, 'examples/worker', config.main)],
      outfile: join(outdir, 'worker.js'),
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['browser', 'module', 'main'],
      external: ['*.wasm'],
      logLevel: 'warning',
    });
    const workerd = await startWorkerd({
      modules: [['worker.js', 'esModule', join(outdir, 'worker.js')], ...kernelModules()],
      // The model from the fixture server instead of the hub, which this machine cannot reach.
      bindings: Object.entries({ ...config.vars, MODEL: `${server.origin}${BASE_WITH_TOKENIZER_PATH}` }).map(([name, text]) => ({ name, text })),
      compatibilityDate: config.compatibility_date,
    });
    origin = workerd.origin;
    close = async () => {
      await workerd.close();
      await rm(outdir, { recursive: true, force: true });
    };
  });
  afterAll(async () => {
    await close?.();
    await server?.close();
  });

  const post = (path: string, body: unknown) => fetch(`${origin}${path}`, { method: 'POST', body: JSON.stringify(body) });

  it('answers POST /fill-mask with the reference predictions', async () => {
    const response = await post('/fill-mask', { text: SENTENCE, top_k: 5 });
    expect(response.status).toBe(200);
    expectReferencePredictions(await response.json());
  });

  it('answers POST /embed with the reference sentence embedding', async () => {
    const response = await post('/embed', { texts: [SENTENCE, 'a second sentence'] });
    expect(response.status).toBe(200);
    const { dims, embeddings } = await response.json();
    expect(dims).toEqual([2, REFERENCE_EMBEDDING.length]);
    expect(mismatch(embeddings[0], REFERENCE_EMBEDDING)).toBeUndefined();
  });

  it('answers a text without [MASK] with 400 and other requests with 404', async () => {
    const noMask = await post('/fill-mask', { text: 'no mask here' });
    expect(noMask.status).toBe(400);
    expect((await noMask.json()).error).toMatch(/\[MASK\]/);
    expect((await fetch(`${origin}/fill-mask`)).status).toBe(404);
  });
});

describe('examples/browser', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await fixtureServer();
  });
  afterAll(() => server.close());

  it('shows the reference predictions for a sentence typed into the page', async (context: TestContext) => {
    const executablePath = chromiumPath(context);
    await withChromium(executablePath, async (page) => {
      await page.setViewportSize({ width: 800, height: 480 });
      await page.goto(`${server.origin}/examples/browser/index.html?model=${encodeURIComponent(`${server.origin}${BASE_WITH_TOKENIZER_PATH}`)}`);
      const button = page.locator('#predict');
      await page.waitForFunction(() => !(document.getElementById('predict') as HTMLButtonElement).disabled);
      await page.locator('#text').fill(SENTENCE);
      await button.click();
      const status = page.locator('#status');
      await page.waitForFunction((sentence) => {
        const shown = document.getElementById('status')!;
        return shown.className === 'error' || shown.textContent!.includes(sentence);
      }, SENTENCE);
      expect(await status.getAttribute('class'), (await status.textContent())!).not.toBe('error');

      const rows = await page.locator('#predictions li').evaluateAll((items) =>
        items.map((li) => ({ token: Number(li.getAttribute('data-token')), score: Number(li.getAttribute('data-score')), text: li.textContent })),
      );
      expectReferencePredictions(rows);
      // What a person sees: five rows, each a word, a bar and a percentage.
      rows.forEach((row) => expect(row.text).toMatch(/^\S.*\d%$/));
      const screenshot = await page.screenshot({ path: join(tmpdir(), 'albert-wasm-examples-browser.png') });
      expect(screenshot.subarray(1, 4).toString()).toBe('PNG');
      expect(screenshot.readUInt32BE(16)).toBe(800); // the IHDR width: the whole viewport was drawn
    });
  });
});
