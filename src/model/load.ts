import { AlbertError } from '../errors.js';
import { CONVERTIBLE_TO_F32, type SafeTensors } from '../io/safetensors.js';
import type { Arena } from '../runtime/arena.js';
import { PANEL_COLUMNS, type Kernels } from '../runtime/kernels.js';
import { isSlot, slotsOf, TIED_ALIASES, type ModelWeights, type WeightSlot, type WeightTable } from './weights.js';

/** Encoder tensors carry `albert.` in head models and nothing in checkpoints saved from AlbertModel. */
export function encoderPrefix(st: SafeTensors): string {
  return st.has('albert.embeddings.word_embeddings.weight') ? 'albert.' : '';
}

function checkpointKeys(slot: WeightSlot, prefix: string, st: SafeTensors): string[] | undefined {
  const withPrefix = (n: string) => (slot.encoder ? prefix + n : n);
  const primary = slot.names.map(withPrefix);
  if (primary.every((k) => st.has(k))) return primary;
  const alias = slot.aliases?.map(withPrefix);
  if (alias && alias.every((k) => st.has(k))) return alias;
  return undefined;
}

/** The table's task heads, named in messages: a missing head usually means a checkpoint of another architecture. */
const HEAD_PARTS = {
  maskedLm: 'the masked-LM head',
  classifier: 'the classifier head',
  qaOutputs: 'the question-answering head',
} as const;

const MAX_PROBLEMS_SHOWN = 20;

/**
 * Checks the whole table against the checkpoint before anything is allocated, so a mismatched file
 * fails with every problem listed and leaves no half-loaded model behind.
 */
function resolve(table: WeightTable, st: SafeTensors, prefix: string) {
  const problems: string[] = [];
  const keys = new Map<WeightSlot, string[]>();
  const headOf = new Map<WeightSlot, string>();
  for (const [part, head] of Object.entries(HEAD_PARTS)) {
    for (const slot of slotsOf(table[part as keyof typeof HEAD_PARTS])) headOf.set(slot, head);
  }
  for (const slot of slotsOf(table)) {
    const found = checkpointKeys(slot, prefix, st);
    if (!found) {
      const missing = slot.names.map((n) => (slot.encoder ? prefix + n : n)).filter((k) => !st.has(k));
      const head = headOf.get(slot);
      problems.push(`missing tensor ${missing.join(', ')}${head ? ` (${head})` : ''}`);
      continue;
    }
    for (const key of found) {
      const { shape, dtype } = st.info(key);
      if (shape.length !== slot.shape.length || shape.some((d, i) => d !== slot.shape[i])) {
        problems.push(`tensor ${key} has shape [${shape}], expected [${slot.shape}] from config.json`);
      }
      if (!CONVERTIBLE_TO_F32.includes(dtype)) {
        problems.push(`tensor ${key} has dtype ${dtype}, expected one of ${CONVERTIBLE_TO_F32.join(', ')}`);
      }
    }
    keys.set(slot, found);
  }
  if (problems.length) {
    // A checkpoint of another model has a problem per tensor; the first few say enough.
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).join('; ');
    const more = problems.length > MAX_PROBLEMS_SHOWN ? `; and ${problems.length - MAX_PROBLEMS_SHOWN} more` : '';
    throw new AlbertError('CHECKPOINT_MISMATCH', `${st.fileName} does not match config.json: ${shown}${more}`);
  }
  const used = new Set([...keys.values()].flat());
  const unexpected = st.names().filter((k) => !used.has(k) && !TIED_ALIASES.includes(k));
  return { keys, unexpected };
}

/** Packed weights reach their panels through a stage of about this size above the arena's top. */
const STAGE_BYTES = 1 << 20;

/** One read of checkpoint bytes into place, runnable once the file has arrived up to byte `last`. */
interface TensorRead {
  last: number;
  run(stage: number): Promise<void>;
}

/**
 * Reads every tensor of the table into linear memory once (converting F16/BF16 to f32) and packs
 * Linear weights into the GEMM's panels: the int8 GEMM's (quantized) for the slots `int8` selects,
 * the f32 GEMM's for the others. Returns the table with each slot replaced by its pointer, and the
 * checkpoint's tensors the model does not use.
 *
 * Where each slot lands is decided first, in table order, so it never depends on the file; the reads
 * then go in the file's order, so a download is consumed as it streams in and never held whole.
 */
export async function placeWeights(table: WeightTable, st: SafeTensors, kernels: Kernels, arena: Arena, int8?: (slot: WeightSlot) => boolean) {
  const { keys, unexpected } = resolve(table, st, encoderPrefix(st));
  // The file's byte just past element `element` of tensor `name` (F16 and BF16 take 2 bytes, F32 4).
  const byteEnd = (name: string, element: number) => {
    const info = st.info(name);
    return info.begin + (info.size && ((info.end - info.begin) / info.size) * element);
  };

  const at = new Map<WeightSlot, number>();
  const reads: TensorRead[] = [];
  let stageBytes = 0;
  for (const slot of slotsOf(table)) {
    const names = keys.get(slot)!;
    const rows = slot.shape[0]!;
    const rowSize = slot.shape.slice(1).reduce((a, b) => a * b, 1);
    const count = rows * rowSize;
    if (slot.layout === 'plain') {
      const dst = arena.alloc(names.length * count * 4);
      at.set(slot, dst);
      for (const [i, name] of names.entries()) {
        reads.push({ last: byteEnd(name, count), run: () => st.readF32(name, arena.f32(dst + i * count * 4, count)) });
      }
      continue;
    }
    // Packed: the [out, in] rows (Q, K and V stacked) go a few panels at a time through a small
    // stage above the weights, so the unpacked matrix is never in memory whole.
    const n = names.length * rows;
    const quantize = int8?.(slot) ?? false;
    const packedBytes = (r: number) => (quantize ? kernels.gemm_i8_packed_b_size(r, rowSize) : kernels.gemm_packed_b_size(r, rowSize) * 4);
    const dst = arena.alloc(packedBytes(n));
    at.set(slot, dst);
    const chunkRows = Math.max(1, Math.floor(STAGE_BYTES / (PANEL_COLUMNS * rowSize * 4))) * PANEL_COLUMNS;
    stageBytes = Math.max(stageBytes, Math.min(chunkRows, n) * rowSize * 4);
    for (let r0 = 0; r0 < n; r0 += chunkRows) {
      const r1 = Math.min(n, r0 + chunkRows);
      // Rows [r0, r1) of the stack, from each tensor they fall in.
      const parts: { name: string; from: number; to: number; tensorRow: number }[] = [];
      for (let i = Math.floor(r0 / rows); i * rows < r1; i++) {
        const from = Math.max(r0, i * rows);
        const to = Math.min(r1, (i + 1) * rows);
        parts.push({ name: names[i]!, from, to, tensorRow: from - i * rows });
      }
      reads.push({
        last: Math.max(...parts.map((p) => byteEnd(p.name, (p.tensorRow + p.to - p.from) * rowSize))),
        run: async (stage) => {
          for (const p of parts) {
            await st.readF32(p.name, arena.f32(stage + (p.from - r0) * rowSize * 4, (p.to - p.from) * rowSize), p.tensorRow * rowSize);
          }
          if (quantize) kernels.gemm_pack_b_i8(dst + packedBytes(r0), stage, r1 - r0, rowSize);
          else kernels.gemm_pack_b_f32(dst + packedBytes(r0), stage, r1 - r0, rowSize);
        },
      });
    }
  }

  const mark = arena.mark();
  const stage = stageBytes ? arena.alloc(stageBytes) : 0;
  st.willRead([...keys.values()].flat());
  // One read at a time (a stable sort keeps table order among equals).
  for (const read of reads.sort((a, b) => a.last - b.last)) await read.run(stage);
  arena.release(mark);

  const placed = (node: unknown): unknown => {
    if (isSlot(node)) return at.get(node);
    if (Array.isArray(node)) return node.map(placed);
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, placed(child)]));
    return node;
  };
  return { weights: placed(table) as ModelWeights, unexpected };
}
