import { parseConfig } from '../io/config.js';
import { openSource, type FileSource } from '../io/source.js';
import { slotsOf, weightTable } from '../model/weights.js';

/** Set by the build: where the wasm sits relative to this module; the default model's files sit beside it. */
declare const __ALBERT_WASM_PATH__: string;

export const DEFAULT_MODEL = 'albert/albert-base-v2';

/**
 * The model used when the hub cannot be reached: the real albert-base-v2 tokenizer and config, shipped
 * with the package (760 KB), and weights drawn at first use from a fixed seed the way Hugging Face
 * initialises them (normal(0, initializer_range), LayerNorm 1 and 0, biases 0), instead of shipping
 * 47 MB. It runs every step of the pipeline for real; its predictions mean nothing.
 */
export function embeddedDefaultModel(): FileSource {
  const assets = openSource(new URL('./albert-base-v2/', new URL(__ALBERT_WASM_PATH__, import.meta.url)));
  let weights: Uint8Array | undefined;
  const read = async (name: string) => {
    if (name !== 'model.safetensors') return assets.read(name);
    weights ??= randomCheckpoint(new TextDecoder().decode(await assets.read('config.json')));
    return weights;
  };
  return {
    description: `the embedded ${DEFAULT_MODEL} stand-in (real tokenizer, random weights)`,
    read,
    tryRead: async (name) => (name === 'model.safetensors' ? read(name) : assets.tryRead(name)),
  };
}

/** A deterministic AlbertForMaskedLM checkpoint in safetensors format for `configJson`'s geometry. */
function randomCheckpoint(configJson: string): Uint8Array {
  const config = parseConfig(configJson);
  const std = (JSON.parse(configJson) as { initializer_range?: number }).initializer_range ?? 0.02;
  const tensors = slotsOf(weightTable(config, 'masked-lm', true)).flatMap((slot) =>
    slot.names.map((name) => ({ name: slot.encoder ? `albert.${name}` : name, shape: slot.shape })),
  );
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const { name, shape } of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keeps the data 8-byte aligned, as safetensors writers do
  const file = new Uint8Array(8 + json.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(new TextEncoder().encode(json), 8);
  const data = new Float32Array(file.buffer, 8 + json.length, offset / 4);

  const random = normalSampler(0x41c6ce57);
  let at = 0;
  for (const { name, shape } of tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fill = name.endsWith('LayerNorm.weight') ? () => 1 : name.endsWith('bias') ? () => 0 : () => random() * std;
    for (let i = 0; i < n; i++) data[at + i] = fill();
    at += n;
  }
  return file;
}

/** Standard normal samples from a seeded mulberry32 generator (Box–Muller). */
function normalSampler(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}
