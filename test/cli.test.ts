import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BASE_V2_DIR, expectedOf, FIXTURES_DIR, inputsOf, mismatch } from './helpers/fixtures.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Runs the built `albert` command; resolves with its exit code and output whatever the code. */
async function albert(...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('albert command', () => {
  it('run: prints the requested outputs of the reference case as JSON', async () => {
    const c = expectedOf('tiny').cases.find((x) => x.name === 'pair')!;
    const file = `${mkdtempSync(`${tmpdir()}/albert-cli-`)}/input.json`;
    writeFileSync(file, JSON.stringify(inputsOf(c)));
    const { code, stdout } = await albert('run', '--model', `${FIXTURES_DIR}tiny`, '--input', file, '--outputs', 'last_hidden_state,logits');
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(Object.keys(out)).toEqual(['last_hidden_state', 'logits']);
    expect(out.last_hidden_state.shape).toEqual(c.outputs.last_hidden_state.shape);
    expect(mismatch(out.last_hidden_state.data, c.outputs.last_hidden_state.f64)).toBeUndefined();
    expect(mismatch(out.logits.data, c.outputs.logits.f64)).toBeUndefined();
  });

  it('fill-mask and tokenize: the real tokenizer with the base checkpoint', async () => {
    const fill = await albert('fill-mask', '--model', `${FIXTURES_DIR}base`, '--tokenizer', BASE_V2_DIR, '--top-k', '2', '--json', 'Paris is the [MASK] of France.');
    expect(fill.code).toBe(0);
    const predictions = JSON.parse(fill.stdout);
    expect(predictions).toHaveLength(2);
    expect(Object.keys(predictions[0]).sort()).toEqual(['score', 'sequence', 'token', 'token_str']);
    const tok = await albert('tokenize', '--model', BASE_V2_DIR, '--json', 'This is a test');
    expect(JSON.parse(tok.stdout).input_ids).toEqual([2, 48, 25, 21, 1289, 3]);
  });

  it('zero-shot, classify, ner and qa run on the tiny checkpoints', async () => {
    const tokenizer = fileURLToPath(new URL('./assets/tiny-spiece.model', import.meta.url));
    const zs = await albert('zero-shot', '--model', `${FIXTURES_DIR}tiny-groups`, '--tokenizer', tokenizer, '--labels', 'city,sea', '--json', 'The cat sees the sea.');
    expect(zs.code).toBe(0);
    expect(JSON.parse(zs.stdout).labels.sort()).toEqual(['city', 'sea']);
    const cls = await albert('classify', '--model', `${FIXTURES_DIR}tiny-groups`, '--tokenizer', tokenizer, '--json', 'The cat sees the sea.');
    expect(JSON.parse(cls.stdout)[0].label).toMatch(/^LABEL_\d$/);
    const ner = await albert('ner', '--model', `${FIXTURES_DIR}tiny-tok`, '--tokenizer', tokenizer, '--json', 'John visited Berlin.');
    expect(ner.code).toBe(0);
    expect(Array.isArray(JSON.parse(ner.stdout))).toBe(true);
    const qa = await albert('qa', '--model', `${FIXTURES_DIR}tiny-qa`, '--tokenizer', tokenizer, '--question', 'Who?', '--context', 'John visited Berlin.', '--json');
    const answer = JSON.parse(qa.stdout);
    expect('John visited Berlin.'.slice(answer.start, answer.end)).toBe(answer.answer);
  });

  it('errors: one line on stderr, exit code 2', async () => {
    const input = new URL('../examples/ids.json', import.meta.url).pathname;
    const missing = await albert('run', '--model', '/nonexistent/model', '--input', input);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const noMask = await albert('fill-mask', '--model', `${FIXTURES_DIR}base`, '--tokenizer', BASE_V2_DIR, 'no mask');
    expect(noMask.code).toBe(2);
    expect(noMask.stderr).toMatch(/no \[MASK\]/);
    expect((await albert('frobnicate')).code).toBe(2);
    expect((await albert('--help')).stdout).toMatch(/fill-mask/);
  });
});
