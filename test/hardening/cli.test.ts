/**
 * The built command: every AlbertError is one line on stderr and exit code 2; anything else exit
 * code 1 with a short report; never a hang. Spawns `node dist/cli.js run`, as a user would.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlbertErrorCode } from '../../src/errors.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { editHeader, fixtureFiles } from './helpers.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const TINY = `${FIXTURES_DIR}tiny`;
/** Far above a run on tiny (well under a second); reaching it means the command hung. */
const HANG_MS = 20_000;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function albert(args: string[], nodeArgs: string[] = []): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...nodeArgs, CLI, ...args], {
      timeout: HANG_MS,
      // No test may reach the network: a hub id would go to a closed port.
      env: { ...process.env, HF_ENDPOINT: 'http://127.0.0.1:9', HF_HOME: tmpdir() },
    }, (error, stdout, stderr) => {
      resolve({ code: child.exitCode, signal: error?.signal ?? null, stdout, stderr });
    });
    child.stdin?.end();
  });
}

let work: string;
const path = (name: string) => join(work, name);

/** A model directory holding tiny's files, with either replaced. */
async function modelDir(name: string, files: { config?: string; weights?: Uint8Array }): Promise<string> {
  const dir = path(name);
  await mkdir(dir);
  const tiny = fixtureFiles('tiny');
  await writeFile(join(dir, 'config.json'), files.config ?? tiny.config);
  await writeFile(join(dir, 'model.safetensors'), files.weights ?? tiny.weights);
  return dir;
}

async function inputFile(name: string, content: unknown): Promise<string> {
  await writeFile(path(name), typeof content === 'string' ? content : JSON.stringify(content));
  return path(name);
}

function expectOneLineError(outcome: Outcome, code: AlbertErrorCode, message: RegExp): void {
  expect(outcome.signal, 'the command hung').toBeNull();
  expect(outcome.stdout).toBe('');
  expect(outcome.stderr).toMatch(/^albert: .* \[[A-Z_]+\]\n$/);
  expect(outcome.stderr).toContain(`[${code}]`);
  expect(outcome.stderr).toMatch(message);
  expect(outcome.code).toBe(2);
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does)`);
  work = await mkdtemp(join(tmpdir(), 'albert-cli-hardening-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('albert run', () => {
  it('works on good input (so the failures below are the inputs, not the setup)', async () => {
    const out = await albert(['run', '--model', TINY, '--input', await inputFile('good.json', { input_ids: [[2, 31, 415, 3]] }), '--outputs', 'pooler_output']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).pooler_output.shape).toEqual([1, 32]);
  });

  describe.concurrent('turns each AlbertError into one line on stderr and exit code 2', () => {
    it('missing --model', async () => {
      expectOneLineError(await albert(['run', '--input', await inputFile('a.json', { input_ids: [[2]] })]), 'INPUT_INVALID', /needs --model/);
    });

    it('input that is not JSON', async () => {
      expectOneLineError(await albert(['run', '--model', TINY, '--input', await inputFile('b.json', '{"input_ids": [[2, 3]')]), 'INPUT_INVALID', /is not valid JSON/);
    });

    it('empty stdin', async () => {
      expectOneLineError(await albert(['run', '--model', TINY]), 'INPUT_INVALID', /--input - is not valid JSON/);
    });

    it('ids outside the vocabulary, ragged rows, a mask of 2', async () => {
      const cases: [unknown, RegExp][] = [
        [{ input_ids: [[2, 600, 3]] }, /input_ids\[0\]\[1\] is 600, expected a token id in \[0, 512\)/],
        [{ input_ids: [[2, 5, 3], [2, 3]] }, /input_ids is ragged/],
        [{ input_ids: [[2, 5, 3]], attention_mask: [[1, 2, 1]] }, /attention_mask\[0\]\[1\] is 2, expected 0 or 1/],
        [{ input_ids: [Array(65).fill(5)] }, /max_position_embeddings is 64/],
        [{ input_ids: [] }, /input_ids is empty/],
      ];
      for (const [i, [input, message]] of cases.entries()) {
        expectOneLineError(await albert(['run', '--model', TINY, '--input', await inputFile(`c${i}.json`, input)]), 'INPUT_INVALID', message);
      }
    });

    it('an output the checkpoint does not have', async () => {
      const out = await albert(['run', '--model', TINY, '--input', await inputFile('d.json', { input_ids: [[2, 3]] }), '--outputs', 'start_logits']);
      expectOneLineError(out, 'OUTPUT_UNAVAILABLE', /output "start_logits" is not available/);
    });

    it('a model directory that does not exist', async () => {
      expectOneLineError(await albert(['run', '--model', path('nowhere'), '--input', await inputFile('e.json', { input_ids: [[2]] })]), 'SOURCE_NOT_FOUND', /does not exist/);
    });

    it('a truncated model.safetensors', async () => {
      const tiny = fixtureFiles('tiny');
      const dir = await modelDir('truncated', { weights: tiny.weights.subarray(0, 5000) });
      expectOneLineError(await albert(['run', '--model', dir, '--input', await inputFile('f.json', { input_ids: [[2]] })]), 'SAFETENSORS_INVALID', /model\.safetensors: .*file truncated/);
    });

    it('a tensor name with a newline in a corrupt header stays on one line', async () => {
      const weights = editHeader(fixtureFiles('tiny').weights, (h) => void (h['evil\nname'] = { dtype: 'F32', shape: [2], data_offsets: [0, 4] }));
      const dir = await modelDir('newline', { weights });
      expectOneLineError(await albert(['run', '--model', dir, '--input', await inputFile('g.json', { input_ids: [[2]] })]), 'SAFETENSORS_INVALID', /tensor "evil\\nname"/);
    });

    it('a config.json that is not valid', async () => {
      const dir = await modelDir('config', { config: JSON.stringify({ ...JSON.parse(fixtureFiles('tiny').config), hidden_act: 'mish' }) });
      expectOneLineError(await albert(['run', '--model', dir, '--input', await inputFile('h.json', { input_ids: [[2]] })]), 'CONFIG_INVALID', /hidden_act "mish" is not supported/);
    });

    it('a checkpoint that does not match its config', async () => {
      const dir = await modelDir('mismatch', { config: JSON.stringify({ ...JSON.parse(fixtureFiles('tiny').config), architectures: ['AlbertForQuestionAnswering'] }) });
      expectOneLineError(await albert(['run', '--model', dir, '--input', await inputFile('i.json', { input_ids: [[2]] })]), 'CHECKPOINT_MISMATCH', /missing tensor qa_outputs\.weight/);
    });

    it('a batch too large for wasm memory', async () => {
      // About 2.2 KiB of activations per token of tiny (its logits are 512 wide): 5.4 GiB here.
      const input_ids = Array.from({ length: 40_000 }, () => Array(64).fill(5));
      const out = await albert(['run', '--model', TINY, '--input', await inputFile('j.json', { input_ids })]);
      expectOneLineError(out, 'OUT_OF_MEMORY', /a batch of 40000 × 64 tokens needs [\d.]+ GiB of activations; wasm memory has room for/);
    });
  });

  it('an --input file that does not exist is a user error (exit 2), not a bug report', async () => {
    expectOneLineError(await albert(['run', '--model', TINY, '--input', path('missing.json')]), 'INPUT_INVALID', /missing\.json/);
  });

  it('reports an unexpected error with exit code 1 and a short report, without hanging', async () => {
    // Simulates a bug below the CLI: instantiating the kernels throws a plain TypeError.
    const fault = 'data:text/javascript,WebAssembly.instantiate = async () => { throw new TypeError("simulated fault") };';
    const out = await albert(['run', '--model', TINY, '--input', await inputFile('k.json', { input_ids: [[2, 3]] })], ['--import', fault]);
    expect(out.signal, 'the command hung').toBeNull();
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/^albert: unexpected error \(a bug; please report it\): TypeError: simulated fault/);
    expect(out.stderr.split('\n').length).toBeLessThan(30);
  });
});
