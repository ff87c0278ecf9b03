import type { AlbertConfig } from '../io/config.js';

/**
 * The one table of Hugging Face weight names. Everything the model reads from a checkpoint is named
 * here, with its expected shape and how it is stored in linear memory; the loader walks this table
 * and nothing else spells a checkpoint key.
 */
export interface WeightSlot {
  /** Checkpoint names, concatenated along the first axis (Q, K and V become one fused weight). */
  names: string[];
  /** Shape of each named tensor. */
  shape: number[];
  /** 'packed': an HF Linear weight [out, in] re-laid once into the GEMM's panels; 'plain': copied as is. */
  layout: 'packed' | 'plain';
  /** Encoder tensors sit under `albert.` in head models; head tensors never do. */
  encoder: boolean;
  /** Older checkpoints spell a few tensors differently; the first name found wins. */
  aliases?: string[];
}

/** Which task head a checkpoint carries, from its `architectures` (or, failing that, its tensors). */
export type HeadKind = 'none' | 'masked-lm' | 'sequence-classification' | 'token-classification' | 'question-answering';

export const HEAD_BY_ARCHITECTURE: Record<string, HeadKind> = {
  AlbertModel: 'none',
  AlbertForMaskedLM: 'masked-lm',
  AlbertForPreTraining: 'masked-lm',
  AlbertForSequenceClassification: 'sequence-classification',
  AlbertForTokenClassification: 'token-classification',
  AlbertForQuestionAnswering: 'question-answering',
};

/** Names a checkpoint may carry that we knowingly do not read (the decoder is tied to the embeddings). */
export const TIED_ALIASES = ['predictions.decoder.weight', 'predictions.decoder.bias'];

const encoderSlot = (name: string, shape: number[], layout: WeightSlot['layout'] = 'plain'): WeightSlot => ({
  names: [name],
  shape,
  layout,
  encoder: true,
});

function linear(prefix: string, out: number, inp: number, encoder = true) {
  return {
    weight: { names: [`${prefix}.weight`], shape: [out, inp], layout: 'packed', encoder } as WeightSlot,
    bias: { names: [`${prefix}.bias`], shape: [out], layout: 'plain', encoder } as WeightSlot,
  };
}

function layerNorm(prefix: string, size: number, encoder = true) {
  return {
    gamma: { names: [`${prefix}.weight`], shape: [size], layout: 'plain', encoder } as WeightSlot,
    beta: { names: [`${prefix}.bias`], shape: [size], layout: 'plain', encoder } as WeightSlot,
  };
}

function albertLayer(prefix: string, c: AlbertConfig) {
  const H = c.hiddenSize;
  const qkv = ['query', 'key', 'value'].map((p) => `${prefix}.attention.${p}`);
  return {
    qkv: {
      weight: { names: qkv.map((p) => `${p}.weight`), shape: [H, H], layout: 'packed', encoder: true } as WeightSlot,
      bias: { names: qkv.map((p) => `${p}.bias`), shape: [H], layout: 'plain', encoder: true } as WeightSlot,
    },
    attentionOutput: linear(`${prefix}.attention.dense`, H, H),
    attentionNorm: layerNorm(`${prefix}.attention.LayerNorm`, H),
    ffn: linear(`${prefix}.ffn`, c.intermediateSize, H),
    ffnOutput: linear(`${prefix}.ffn_output`, H, c.intermediateSize),
    outputNorm: layerNorm(`${prefix}.full_layer_layer_norm`, H),
  };
}

export function weightTable(c: AlbertConfig, head: HeadKind, withPooler: boolean) {
  const { hiddenSize: H, embeddingSize: E, vocabSize: V } = c;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  return {
    embeddings: {
      // Stored packed: the same panels serve the embedding gather and the tied MLM decoder.
      word: encoderSlot('embeddings.word_embeddings.weight', [V, E], 'packed'),
      position: encoderSlot('embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, E]),
      tokenType: encoderSlot('embeddings.token_type_embeddings.weight', [c.typeVocabSize, E]),
      norm: layerNorm('embeddings.LayerNorm', E),
    },
    mappingIn: linear('encoder.embedding_hidden_mapping_in', H, E),
    groups: range(c.numHiddenGroups).map((g) =>
      range(c.innerGroupNum).map((i) => albertLayer(`encoder.albert_layer_groups.${g}.albert_layers.${i}`, c)),
    ),
    pooler: withPooler ? linear('pooler', H, H) : undefined,
    maskedLm:
      head === 'masked-lm'
        ? {
            dense: linear('predictions.dense', E, H, false),
            norm: layerNorm('predictions.LayerNorm', E, false),
            bias: { names: ['predictions.bias'], aliases: ['predictions.decoder.bias'], shape: [V], layout: 'plain', encoder: false } as WeightSlot,
          }
        : undefined,
    classifier:
      head === 'sequence-classification' || head === 'token-classification'
        ? linear('classifier', c.numLabels, H, false)
        : undefined,
    qaOutputs: head === 'question-answering' ? linear('qa_outputs', 2, H, false) : undefined,
  };
}

export type WeightTable = ReturnType<typeof weightTable>;

export function isSlot(node: unknown): node is WeightSlot {
  return typeof node === 'object' && node !== null && 'names' in node && 'layout' in node;
}

/** Every slot of a table (or part of one), in a stable order. */
export function slotsOf(node: unknown, out: WeightSlot[] = []): WeightSlot[] {
  if (isSlot(node)) out.push(node);
  else if (Array.isArray(node)) node.forEach((n) => slotsOf(n, out));
  else if (node && typeof node === 'object') Object.values(node).forEach((n) => slotsOf(n, out));
  return out;
}

/** The table with every slot replaced by its pointer into linear memory. */
export type Placed<T> = T extends WeightSlot
  ? number
  : T extends undefined
    ? undefined
    : T extends readonly (infer U)[]
      ? Placed<U>[]
      : { [K in keyof T]: Placed<T[K]> };

export type ModelWeights = Placed<WeightTable>;
export type LayerWeights = ModelWeights['groups'][number][number];
