import { AlbertError } from '../errors.js';
import { parseConfig, type AlbertConfig, type HiddenAct } from '../io/config.js';
import { quote } from '../io/quote.js';
import { SafeTensors } from '../io/safetensors.js';
import { openFile, openSource, type ModelSource, type SourceOptions } from '../io/source.js';
import { Arena, formatBytes } from '../runtime/arena.js';
import { Act, type Kernels } from '../runtime/kernels.js';
import { loadKernels, type KernelVariant, type WasmSource } from '../runtime/module.js';
import { ParallelKernels, ThreadPool } from '../runtime/pool.js';
import { prepareBatch, type Batch, type ForwardInputs } from './inputs.js';
import { placeWeights } from './load.js';
import { HEAD_BY_ARCHITECTURE, weightTable, type HeadKind, type LayerWeights, type ModelWeights, type WeightSlot, type WeightTable } from './weights.js';

export type { ForwardInputs, IdMatrix } from './inputs.js';
export type { HeadKind } from './weights.js';
export type { KernelVariant } from '../runtime/module.js';

/** The shape transformers.js and onnxruntime-web users know. */
export interface Tensor {
  data: Float32Array;
  dims: number[];
}

export type OutputName = 'last_hidden_state' | 'pooler_output' | 'hidden_states' | 'logits' | 'start_logits' | 'end_logits';

export interface ForwardOptions {
  /** Which outputs to compute and return. Default: everything the checkpoint has except hidden_states. */
  outputs?: OutputName[];
  /**
   * Masked-LM only: compute `logits` just at these [batch, position] pairs (fill-mask needs only the
   * [MASK] rows); `logits` is then [positions.length, vocab]. Default: every position, [B, L, vocab].
   */
  logitsAt?: ReadonlyArray<readonly [number, number]>;
}

export type ForwardOutputs = Partial<Record<OutputName, Tensor>>;

/** Where and how to read the files (hub revision, cache, progress: see SourceOptions), and the kernels. */
export interface LoadOptions extends SourceOptions {
  /** The kernels' wasm: a URL, bytes or a compiled module. Default: the file next to this package's JS. */
  wasm?: WasmSource;
  /** Told about checkpoint tensors the model does not use, cached files used offline, and similar. */
  onWarning?: (message: string) => void;
  /**
   * Which build of the kernels runs. Default: the best this runtime validates and computes right
   * (relaxed SIMD where it works; a threads build when `threads` > 1 and workers can share memory).
   * A forced variant the runtime cannot run fails the load.
   */
  kernels?: KernelVariant;
  /**
   * Threads for the pass, the calling one included (default 1). Where workers cannot share memory
   * (workerd, pages without COOP/COEP) the model runs on one and says why in `info.threadsNote`.
   */
  threads?: number;
  /**
   * 'int8' quantizes the encoder's Linear weights at load (per output channel, symmetric) and their
   * inputs per row at run time; embeddings, attention, LayerNorm and the heads stay f32. Default 'f32'.
   */
  dtype?: Dtype;
}

export type Dtype = 'f32' | 'int8';

export interface ModelInfo {
  head: HeadKind;
  kernels: KernelVariant;
  threads: number;
  /** Why fewer threads run than were asked for. */
  threadsNote?: string;
  dtype: Dtype;
  /** Bytes of linear memory holding the packed weights. */
  weightBytes: number;
  /** Checkpoint tensors that were not used. */
  unexpectedTensors: string[];
}

const ACT_BY_NAME: Record<HiddenAct, Act> = {
  gelu_new: Act.GeluNew,
  gelu: Act.Gelu,
  relu: Act.Relu,
  gelu_fast: Act.GeluFast,
  quick_gelu: Act.QuickGelu,
  silu: Act.Silu,
  swish: Act.Silu,
};

const decodeText = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function headOf(config: AlbertConfig, st: SafeTensors): HeadKind {
  for (const arch of config.architectures) {
    if (arch in HEAD_BY_ARCHITECTURE) return HEAD_BY_ARCHITECTURE[arch];
  }
  // No usable `architectures`: recognise the head by its tensors.
  if (st.has('predictions.bias') || st.has('predictions.decoder.bias')) return 'masked-lm';
  if (st.has('qa_outputs.weight')) return 'question-answering';
  if (st.has('classifier.weight')) {
    return st.has('albert.pooler.weight') ? 'sequence-classification' : 'token-classification';
  }
  return 'none';
}

/** Where each activation of one forward pass lives; placed once per size, reused across calls. */
interface Workspace {
  ids: number;
  types: number;
  maskAdd: number;
  /** Embeddings after their LayerNorm, [T, E]. */
  emb: number;
  /** The hidden state carried from layer to layer, [T, H]. */
  h: number;
  /** A chunk's fused Q | K | V, [chunk rows, 3H] (see sequencesPerChunk). */
  qkv: number;
  /** A chunk's attention context, then reused for the feed-forward output, [chunk rows, H]. */
  ctx: number;
  /** A chunk's attention output, then the residual-normed h₁ of the layer, [chunk rows, H]. */
  attn: number;
  /** A chunk's feed-forward activations, [chunk rows, I]. */
  ffn: number;
  /** int8 only: the input of the Linear layer at hand, quantized per row, and each row's scale and zero point. */
  qa: number;
  qs: number;
  /** f32 on the relaxed build: the input of the Linear layer at hand, packed once (for every thread). */
  pa: number;
  /** Attention's scratch, per thread: a head's packed K and V and its [seq, seq] scores. */
  scratch: number;
  pooled: number;
  lmRows: number;
  lmHidden: number;
  logits: number;
}

export class AlbertModel {
  readonly config: AlbertConfig;
  readonly info: ModelInfo;
  private readonly kernels: Kernels;
  /** The kernels the pass calls, split over the threads when there are several. */
  private readonly ops: ParallelKernels;
  private readonly pool?: ThreadPool;
  private readonly arena: Arena;
  private readonly weights: ModelWeights;
  private readonly act: Act;
  /** The arena's top after the weights: activations live above it. */
  private readonly activationBase: number;
  private workspaceBase = 0;
  private workspaceBytes = 0;

  private constructor(config: AlbertConfig, kernels: Kernels, pool: ThreadPool | undefined, arena: Arena, weights: ModelWeights, info: ModelInfo) {
    this.config = config;
    this.kernels = kernels;
    this.pool = pool;
    this.ops = new ParallelKernels(kernels, pool);
    this.arena = arena;
    this.weights = weights;
    this.info = info;
    this.act = ACT_BY_NAME[config.hiddenAct];
    this.activationBase = arena.mark();
  }

  /** Loads `config.json` and `model.safetensors` from a directory, a URL prefix, or in-memory files. */
  static async load(source: ModelSource, options: LoadOptions = {}): Promise<AlbertModel> {
    const files = openSource(source, options);
    const config = parseConfig(decodeText(await files.read('config.json')), 'config.json');
    // A local checkpoint stays on disk: its header is read now, each tensor straight into place later.
    const weights = await openFile(files, 'model.safetensors');
    try {
      return await AlbertModel.fromCheckpoint(config, await SafeTensors.open(weights, 'model.safetensors'), options);
    } finally {
      await weights.close();
    }
  }

  /** Builds a model from an already parsed config and an opened checkpoint (which must stay open until this resolves). */
  static async fromCheckpoint(config: AlbertConfig, st: SafeTensors, options: LoadOptions = {}): Promise<AlbertModel> {
    const head = headOf(config, st);
    const hasPooler = st.has('albert.pooler.weight') || st.has('pooler.weight');
    if (head === 'sequence-classification' && !hasPooler) {
      throw new AlbertError('CHECKPOINT_MISMATCH', `${st.fileName} has no pooler, which ${config.architectures[0]} classifies from`);
    }
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new AlbertError('INPUT_INVALID', `threads must be a whole number ≥ 1, got ${threads}`);
    const dtype = options.dtype ?? 'f32';
    if (dtype !== 'f32' && dtype !== 'int8') throw new AlbertError('INPUT_INVALID', `dtype must be 'f32' or 'int8', got ${String(dtype)}`);
    const loaded = await loadKernels({ wasm: options.wasm, kernels: options.kernels, threads: threads > 1 });
    const arena = new Arena(loaded.kernels);
    // The workers start while the weights are placed. Node: a two-thread int8 load of albert-base
    // 82 → 63 ms, what one thread takes. Deno gained nothing measurable: its `new Worker` alone holds
    // this thread 12–19 ms.
    const starting = threads > 1 ? ThreadPool.start(loaded, arena, threads) : undefined;
    // Its failure (memory exhausted by the job block) is thrown where it is awaited, after the
    // weights: without a handler now, Node would end the process on it as unhandled.
    starting?.catch(() => {});
    const table = weightTable(config, head, hasPooler);
    const quantized = dtype === 'int8' ? int8Slots(table) : undefined;
    const beforeWeights = arena.used;
    let placed: Awaited<ReturnType<typeof placeWeights>>;
    try {
      placed = await placeWeights(table, st, loaded.kernels, arena, quantized && ((slot) => quantized.has(slot)));
      await st.checkComplete();
    } catch (err) {
      // The checkpoint's error is the one to fix, even if the pool failed too.
      const started = await starting?.catch(() => undefined);
      if (started instanceof ThreadPool) started.close();
      throw err;
    }
    const started = await starting;
    const pool = started instanceof ThreadPool ? started : undefined;
    const { weights, unexpected } = placed;
    if (unexpected.length) {
      options.onWarning?.(`${st.fileName}: ${unexpected.length} tensor(s) not used by ${head === 'none' ? 'AlbertModel' : head}: ${unexpected.map(quote).join(', ')}`);
    }
    return new AlbertModel(config, loaded.kernels, pool, arena, weights, {
      head,
      kernels: loaded.variant,
      threads: pool?.size ?? 1,
      ...(typeof started === 'string' ? { threadsNote: `${threads} threads asked for, running on 1: ${started}` } : {}),
      dtype,
      weightBytes: arena.used - beforeWeights,
      unexpectedTensors: unexpected,
    });
  }

  /** Ends the worker threads (if any); the model cannot run after. */
  dispose(): void {
    this.pool?.close();
  }

  /** The outputs this checkpoint can produce. */
  get outputNames(): OutputName[] {
    const names: OutputName[] = ['last_hidden_state', 'hidden_states'];
    if (this.weights.pooler) names.push('pooler_output');
    if (this.weights.maskedLm || this.weights.classifier) names.push('logits');
    if (this.weights.qaOutputs) names.push('start_logits', 'end_logits');
    return names;
  }

  async forward(inputs: ForwardInputs, options: ForwardOptions = {}): Promise<ForwardOutputs> {
    return this.forwardSync(inputs, options);
  }

  /** The same pass as `forward`, on the calling thread without yielding. */
  forwardSync(inputs: ForwardInputs, options: ForwardOptions = {}): ForwardOutputs {
    const available = this.outputNames;
    if (options.outputs !== undefined && !Array.isArray(options.outputs)) {
      throw new AlbertError('INPUT_INVALID', `outputs must be an array of output names (${available.join(', ')})`);
    }
    const wanted = new Set(options.outputs ?? available.filter((n) => n !== 'hidden_states'));
    for (const name of wanted) {
      if (!available.includes(name)) {
        throw new AlbertError('OUTPUT_UNAVAILABLE', `output "${name}" is not available from this ${this.info.head} checkpoint; available: ${available.join(', ')}`);
      }
    }
    const x = prepareBatch(inputs, this.config);
    const lmRows = this.lmRows(x, options.logitsAt);
    const ws = this.workspace(x, wanted, lmRows?.length ?? x.batch * x.seq);
    return this.run(x, ws, wanted, lmRows);
  }

  /** Flat token indices for `logitsAt`, validated against the batch. */
  private lmRows(x: Batch, at: ForwardOptions['logitsAt']): number[] | undefined {
    if (!at) return undefined;
    if (!this.weights.maskedLm) throw new AlbertError('OUTPUT_UNAVAILABLE', `logitsAt needs a masked-LM checkpoint; this one is ${this.info.head}`);
    if (!Array.isArray(at)) throw new AlbertError('INPUT_INVALID', 'logitsAt must be an array of [batch, position] pairs');
    return at.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new AlbertError('INPUT_INVALID', `logitsAt[${i}] must be a [batch, position] pair, got ${quote(pair)}`);
      }
      const [b, t] = pair;
      if (!Number.isInteger(b) || !Number.isInteger(t) || b < 0 || b >= x.batch || t < 0 || t >= x.seq) {
        throw new AlbertError('INPUT_INVALID', `logitsAt[${i}] is [${b}, ${t}], outside the batch [${x.batch}, ${x.seq}]`);
      }
      return b * x.seq + t;
    });
  }

  /**
   * Places the activations for this call above the weights, growing memory only when a call is larger
   * than every one before it. Fails before touching anything if the batch cannot fit.
   */
  private workspace(x: Batch, wanted: Set<OutputName>, lmRowCount: number): Workspace {
    const { hiddenSize: H, embeddingSize: E, intermediateSize: I, vocabSize: V, numLabels } = this.config;
    const T = x.batch * x.seq;
    const C = Math.min(x.batch, sequencesPerChunk(x.seq)) * x.seq;
    // A Linear layer's input, quantized or packed: the embeddings' projection takes all T rows of E
    // columns, a layer a chunk's rows of H or I.
    const linearInput = (size: (m: number, k: number) => number) => Math.max(size(T, E), size(C, Math.max(H, I)));
    // Head buffers only when a head output is asked for: the MLM logits alone are T × vocab.
    const heads = wanted.has('logits') || wanted.has('start_logits') || wanted.has('end_logits');
    const lm = heads && this.weights.maskedLm !== undefined;
    const sizes: Record<keyof Workspace, number> = {
      ids: T,
      types: T,
      maskAdd: T,
      emb: T * E,
      h: T * H,
      qkv: C * 3 * H,
      ctx: C * H,
      attn: C * H,
      ffn: C * I,
      qa: this.info.dtype === 'int8' ? linearInput((m, k) => this.kernels.gemm_i8_packed_a_size(m, k)) / 4 : 0,
      qs: this.info.dtype === 'int8' ? 2 * T : 0,
      pa: this.info.dtype === 'f32' && this.ops.packsA ? linearInput((m, k) => this.kernels.gemm_packed_a_size(m, k)) : 0,
      scratch: this.ops.attentionScratchSize(x.seq, H / this.config.numAttentionHeads),
      pooled: x.batch * H,
      lmRows: lm ? lmRowCount * H : 0,
      lmHidden: lm ? lmRowCount * E : 0,
      logits: lm ? lmRowCount * V : heads ? T * Math.max(numLabels, 2) : 0,
    };
    const offsets = {} as Workspace;
    let bytes = 0;
    for (const [name, count] of Object.entries(sizes) as [keyof Workspace, number][]) {
      offsets[name] = bytes;
      bytes += Math.ceil((count * 4) / 64) * 64;
    }
    if (bytes > this.workspaceBytes) {
      if (bytes - this.workspaceBytes > this.arena.available) {
        throw new AlbertError('OUT_OF_MEMORY', `a batch of ${x.batch} × ${x.seq} tokens needs ${formatBytes(bytes)} of activations; wasm memory has room for ${formatBytes(this.workspaceBytes + this.arena.available)} beside the weights`);
      }
      this.arena.release(this.activationBase);
      try {
        this.workspaceBase = this.arena.alloc(bytes);
        this.workspaceBytes = bytes;
      } catch (err) {
        this.workspaceBase = this.arena.alloc(this.workspaceBytes);
        throw err;
      }
    }
    for (const name of Object.keys(offsets) as (keyof Workspace)[]) offsets[name] += this.workspaceBase;
    return offsets;
  }

  /** The ALBERT forward pass. T = batch·seq tokens; every buffer is [T, width] row-major. */
  private run(x: Batch, ws: Workspace, wanted: Set<OutputName>, lmRows: number[] | undefined): ForwardOutputs {
    const k = this.ops;
    const w = this.weights;
    const c = this.config;
    const { hiddenSize: H, embeddingSize: E, layerNormEps: eps } = c;
    const B = x.batch;
    const L = x.seq;
    const T = B * L;
    const out: ForwardOutputs = {};
    const read = (ptr: number, dims: number[]): Tensor => ({ data: this.arena.f32(ptr, dims.reduce((a, b) => a * b, 1)).slice(), dims });

    this.arena.i32(ws.ids, T).set(x.ids);
    this.arena.i32(ws.types, T).set(x.types);
    this.arena.f32(ws.maskAdd, T).set(x.maskAdd);

    // Embeddings in E dims, LayerNorm, then the factorized projection E → H.
    this.kernels.embed_f32(ws.emb, ws.ids, ws.types, T, L, w.embeddings.word, w.embeddings.tokenType, w.embeddings.position, E);
    k.layernorm_f32(ws.emb, ws.emb, 0, w.embeddings.norm.gamma, w.embeddings.norm.beta, T, E, eps);
    this.linear(ws.h, ws.emb, T, E, w.mappingIn, H, Act.None, ws);

    const hidden: Float32Array[] = [];
    if (wanted.has('hidden_states')) hidden.push(read(ws.h, [T * H]).data);

    // The shared layers: iteration i runs every layer of group ⌊i / (layers per group)⌋, on a chunk
    // of whole sequences at a time.
    const layersPerGroup = c.numHiddenLayers / c.numHiddenGroups;
    const chunk = sequencesPerChunk(L);
    for (let i = 0; i < c.numHiddenLayers; i++) {
      for (const layer of w.groups[Math.floor(i / layersPerGroup)]) {
        for (let first = 0; first < B; first += chunk) this.layer(layer, ws, first, Math.min(chunk, B - first), L);
      }
      if (wanted.has('hidden_states')) hidden.push(read(ws.h, [T * H]).data);
    }

    if (wanted.has('last_hidden_state')) out.last_hidden_state = read(ws.h, [B, L, H]);
    if (hidden.length) {
      const stacked = new Float32Array(hidden.length * T * H);
      hidden.forEach((h, i) => stacked.set(h, i * T * H));
      out.hidden_states = { data: stacked, dims: [hidden.length, B, L, H] };
    }

    // pooler_output = tanh(W·h[CLS] + b): the first token of each row, read with a row stride of L·H.
    const classifiesPooled = this.info.head === 'sequence-classification' && wanted.has('logits');
    if (w.pooler && (wanted.has('pooler_output') || classifiesPooled)) {
      k.gemm_f32(ws.pooled, H, ws.h, L * H, B, H, w.pooler.weight, H, w.pooler.bias, Act.Tanh);
      if (wanted.has('pooler_output')) out.pooler_output = read(ws.pooled, [B, H]);
    }

    if (!wanted.has('logits') && !wanted.has('start_logits') && !wanted.has('end_logits')) return out;

    if (w.maskedLm) {
      // MLM head: LayerNorm(act(W·h + b)) in E dims, then the tied decoder (word embeddings) + bias.
      const V = c.vocabSize;
      let rows = ws.h;
      let count = T;
      if (lmRows) {
        const mem = this.arena.f32(0, this.arena.memory.buffer.byteLength / 4);
        lmRows.forEach((t, i) => mem.copyWithin(ws.lmRows / 4 + i * H, ws.h / 4 + t * H, ws.h / 4 + (t + 1) * H));
        rows = ws.lmRows;
        count = lmRows.length;
      }
      const m = w.maskedLm;
      k.gemm_f32(ws.lmHidden, E, rows, H, count, H, m.dense.weight, E, m.dense.bias, this.act);
      k.layernorm_f32(ws.lmHidden, ws.lmHidden, 0, m.norm.gamma, m.norm.beta, count, E, eps);
      k.gemm_f32(ws.logits, V, ws.lmHidden, E, count, E, w.embeddings.word, V, m.bias, Act.None);
      out.logits = read(ws.logits, lmRows ? [count, V] : [B, L, V]);
    } else if (w.classifier && classifiesPooled) {
      const n = c.numLabels;
      k.gemm_f32(ws.logits, n, ws.pooled, H, B, H, w.classifier.weight, n, w.classifier.bias, Act.None);
      out.logits = read(ws.logits, [B, n]);
    } else if (w.classifier) {
      const n = c.numLabels;
      k.gemm_f32(ws.logits, n, ws.h, H, T, H, w.classifier.weight, n, w.classifier.bias, Act.None);
      out.logits = read(ws.logits, [B, L, n]);
    } else if (w.qaOutputs) {
      k.gemm_f32(ws.logits, 2, ws.h, H, T, H, w.qaOutputs.weight, 2, w.qaOutputs.bias, Act.None);
      const both = this.arena.f32(ws.logits, T * 2);
      const start = new Float32Array(T);
      const end = new Float32Array(T);
      for (let t = 0; t < T; t++) {
        start[t] = both[2 * t];
        end[t] = both[2 * t + 1];
      }
      if (wanted.has('start_logits')) out.start_logits = { data: start, dims: [B, L] };
      if (wanted.has('end_logits')) out.end_logits = { data: end, dims: [B, L] };
    }
    return out;
  }

  /** One ALBERT layer on sequences [first, first + batch), updating their rows of ws.h in place. */
  private layer(w: LayerWeights, ws: Workspace, first: number, batch: number, L: number): void {
    const k = this.ops;
    const { hiddenSize: H, intermediateSize: I, numAttentionHeads: heads, layerNormEps: eps } = this.config;
    const T = batch * L;
    const h = ws.h + first * L * H * 4;
    const maskAdd = ws.maskAdd + first * L * 4;
    // Self-attention: [Q K V] = h·W_qkv + b, ctx = softmax(QKᵀ/√d + mask)·V, h₁ = LN(ctx·W_o + b_o + h).
    this.linear(ws.qkv, h, T, H, w.qkv, 3 * H, Act.None, ws);
    k.attention_f32(ws.ctx, ws.qkv, maskAdd, batch, L, H, heads, ws.scratch);
    this.linear(ws.attn, ws.ctx, T, H, w.attentionOutput, H, Act.None, ws);
    k.layernorm_f32(ws.attn, ws.attn, h, w.attentionNorm.gamma, w.attentionNorm.beta, T, H, eps);
    // Feed-forward: h = LN(act(h₁·W₁ + b₁)·W₂ + b₂ + h₁).
    this.linear(ws.ffn, ws.attn, T, H, w.ffn, I, this.act, ws);
    this.linear(ws.ctx, ws.ffn, T, I, w.ffnOutput, H, Act.None, ws);
    k.layernorm_f32(h, ws.ctx, ws.attn, w.outputNorm.gamma, w.outputNorm.beta, T, H, eps);
  }

  /**
   * y = act(x·Wᵀ + b) for an encoder Linear layer, x [rows, inputs] and y [rows, outputs]. With
   * dtype int8 the weights are int8 (int8Slots) and x is quantized per row first; with f32 on the
   * relaxed build x is packed first (ParallelKernels.packsA).
   */
  private linear(y: number, x: number, rows: number, inputs: number, w: { weight: number; bias: number }, outputs: number, act: Act, ws: Workspace): void {
    if (this.info.dtype === 'int8') {
      this.ops.quantize_rows_u7(ws.qa, ws.qs, x, inputs, rows, inputs);
      this.ops.gemm_i8(y, outputs, ws.qa, ws.qs, rows, inputs, w.weight, outputs, w.bias, act);
    } else if (this.ops.packsA) {
      this.ops.gemm_pack_a_f32(ws.pa, x, inputs, rows, inputs);
      this.ops.gemm_f32_packed_a(y, outputs, ws.pa, rows, inputs, w.weight, outputs, w.bias, act);
    } else {
      this.ops.gemm_f32(y, outputs, x, inputs, rows, inputs, w.weight, outputs, w.bias, act);
    }
  }
}

/**
 * Whole sequences a layer runs at a time, about LAYER_CHUNK_ROWS tokens: a chunk's layer buffers stay
 * in the caches (one sequence of 128: 1.2 MB of Q, K and V, 1.5 MB of feed-forward activations), and
 * a batch's activations grow with its size only by the hidden state and the embeddings, 3.5 to 4 KiB
 * a token of albert-base without a head output where they were 31 to 43. Batch 8 × 128 against
 * batch 1, per token, whole passes alternating in one Deno process: int8 0.999 in chunks of 128 rows
 * against 0.967 unchunked (140 rounds); f32 1.009 (128 rows), 1.011 (512) against 0.976 (34 rounds).
 */
const LAYER_CHUNK_ROWS = 128;
function sequencesPerChunk(seq: number): number {
  return Math.max(1, Math.floor(LAYER_CHUNK_ROWS / seq));
}

/** The weights dtype int8 quantizes: the encoder's Linear layers, where the time goes. */
function int8Slots(table: WeightTable): Set<WeightSlot> {
  const layers = table.groups.flat().flatMap((l) => [l.qkv.weight, l.attentionOutput.weight, l.ffn.weight, l.ffnOutput.weight]);
  return new Set([table.mappingIn.weight, ...layers]);
}
