/**
 * Local checkpoints in each runtime that has local files: Deno reads them through its own file API
 * (its node:fs costs a first load 25–35 ms to import), Node and Bun through node:fs. The same files
 * must give the same bits and the same errors in all three.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { bin, ROOT, runCommand } from './launch.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'albert-local-files-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe.each([
  ['node', [process.execPath]],
  ['deno', [bin('deno'), 'run', '--allow-read', '--allow-write']],
  ['bun', [bin('bun')]],
])('%s', (runtime, command) => {
  it('loads fixtures/tiny from a path, a path ending in a slash and a file: URL as from bytes, and fails on missing or cut files', async () => {
    const directory = join(scratch, runtime);
    const { stdout } = await runCommand([...command, join(ROOT, 'test/runtimes/local-files-check.mjs'), `${FIXTURES_DIR}tiny`, directory]);
    expect(JSON.parse(stdout)).toEqual({
      runtime,
      path: true,
      pathWithSlash: true,
      fileUrl: true,
      missingDirectory: 'SOURCE_NOT_FOUND: model directory <scratch>/absent/ does not exist (looking for config.json)',
      missingWeights: 'SOURCE_NOT_FOUND: model.safetensors not found in directory <scratch>/no-weights',
      cutWeights: expect.stringMatching(/^SAFETENSORS_INVALID: model\.safetensors: tensor ".*" ends at data offset \d+, past the end of the \d+-byte data section \(file truncated\?\)$/),
    });
  });
});
