import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { AlbertError, type AlbertErrorCode } from '../../src/errors.js';
import type { AlbertModel } from '../../src/model/albert.js';
import { expectedOf, FIXTURES_DIR, inputsOf, mismatch } from '../helpers/fixtures.js';

/** A fixture checkpoint's two files as read from disk (read-only: edit copies). */
export interface CheckpointFiles {
  config: string;
  weights: Uint8Array;
}

const files = new Map<string, CheckpointFiles>();
export function fixtureFiles(fixture = 'tiny'): CheckpointFiles {
  if (!files.has(fixture)) {
    files.set(fixture, {
      config: readFileSync(`${FIXTURES_DIR}${fixture}/config.json`, 'utf8'),
      weights: new Uint8Array(readFileSync(`${FIXTURES_DIR}${fixture}/model.safetensors`)),
    });
  }
  return files.get(fixture)!;
}

/** The in-memory source AlbertModel.load takes. */
export function inMemory(config: string | object, weights: Uint8Array) {
  return {
    'config.json': typeof config === 'string' ? config : JSON.stringify(config),
    'model.safetensors': weights,
  };
}

/**
 * A fetch serving `files` by the last segment of the URL (404 for others), each body in chunks of
 * `chunkSizes` bytes in turn, with a Content-Length of the true length plus `lengthError` (a lying
 * server when not 0).
 */
export function fetchServing(files: Record<string, string | Uint8Array>, chunkSizes: number[] = [1 << 16], lengthError = 0): typeof fetch {
  return async (url) => {
    const file = files[String(url).split('/').at(-1)!];
    if (file === undefined) return new Response(null, { status: 404 });
    return chunkedResponse(typeof file === 'string' ? new TextEncoder().encode(file) : file, chunkSizes, { lengthError });
  };
}

/**
 * A 200 response whose body hands out `bytes` (up to `endAt`) in chunks of `sizes` bytes in turn,
 * only when read; its Content-Length is the true length plus `lengthError`.
 */
export function chunkedResponse(
  bytes: Uint8Array,
  sizes: number[],
  options: { endAt?: number; lengthError?: number; onCancel?: () => void; onPull?: (sent: number) => void } = {},
): Response {
  let sent = 0;
  let turn = 0;
  const endAt = options.endAt ?? bytes.length;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= endAt) return controller.close();
        const size = Math.min(sizes[turn++ % sizes.length]!, endAt - sent);
        controller.enqueue(bytes.slice(sent, sent + size));
        sent += size;
        options.onPull?.(sent);
      },
      cancel: () => options.onCancel?.(),
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: { 'content-length': String(Math.max(0, bytes.length + (options.lengthError ?? 0))) } });
}

/** How many property runs: small and fixed in `npm test`, as many as asked for by `npm run fuzz`. */
export function propertyRuns(defaultRuns: number): { numRuns: number; seed?: number } {
  const asked = Number(process.env.ALBERT_FUZZ_RUNS);
  if (!(asked > 0)) return { numRuns: defaultRuns, seed: 20_240_607 };
  const seed = process.env.ALBERT_FUZZ_SEED;
  // Long runs explore new cases each time; fast-check prints the seed of a failure to replay it.
  return { numRuns: Math.ceil(asked), ...(seed !== undefined && { seed: Number(seed) }) };
}

/**
 * Runs `action` (sync or async) and asserts it fails with an AlbertError of `code` whose message
 * matches `message` and is one line. Returns the error for further checks.
 */
export async function expectAlbertError(action: () => unknown, code: AlbertErrorCode, message?: RegExp): Promise<AlbertError> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected an AlbertError, nothing was thrown').toBeDefined();
  if (!(caught instanceof AlbertError)) throw new Error(`expected an AlbertError ${code}, got ${String((caught as Error)?.stack ?? caught)}`);
  expect(caught.code, caught.message).toBe(code);
  if (message) expect(caught.message).toMatch(message);
  expect(caught.message).not.toMatch(/\n/);
  return caught;
}

/** The row-major [batch, sequence, width] slice of row `b`'s first `length` positions. */
export function rowSlice(data: Float32Array, seq: number, width: number, b: number, length = seq): Float32Array {
  return data.subarray(b * seq * width, (b * seq + length) * width);
}

/**
 * Runs two of the fixture's cases (one single row, one padded batch) and asserts that every output
 * still matches the PyTorch reference: a failed call must leave the model as it was.
 */
export async function expectStillCorrect(model: AlbertModel, fixture = 'tiny'): Promise<void> {
  const cases = expectedOf(fixture).cases.filter((c) => c.name === 'single' || c.name === 'batch_padded');
  expect(cases.length).toBeGreaterThan(0);
  for (const c of cases) {
    const result = await model.forward(inputsOf(c));
    for (const name of ['last_hidden_state', 'pooler_output', 'logits'] as const) {
      const stored = c.outputs[name];
      if (!stored) continue;
      expect(result[name]?.dims, `${c.name} ${name} dims`).toEqual(stored.shape);
      expect(mismatch(result[name]!.data, stored.f64), `${c.name} ${name} after an error`).toBeUndefined();
    }
  }
}

/** A safetensors file's header (parsed) and its data section. */
export function splitSafetensors(bytes: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return {
    header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))),
    data: bytes.subarray(8 + length),
  };
}

/** A safetensors file from a header (object, or raw JSON text for malformed headers) and a data section. */
export function joinSafetensors(header: object | string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const file = new Uint8Array(8 + json.length + data.length);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  file.set(data, 8 + json.length);
  return file;
}

/** A copy of `bytes` with its header changed by `edit` (which may mutate it or return a new one). */
export function editHeader(bytes: Uint8Array, edit: (header: Record<string, any>) => Record<string, any> | string | void): Uint8Array {
  const { header, data } = splitSafetensors(bytes);
  return joinSafetensors(edit(header) ?? header, data);
}
