/**
 * `config.json` of an ALBERT checkpoint, read the way transformers' AlbertConfig and
 * PretrainedConfig read it: the same defaults, the same label handling, and the checks that
 * would otherwise surface later as a wrong shape or a silently different activation.
 */
import { AlbertError } from '../errors.js';
import { quote } from './quote.js';

export const SUPPORTED_HIDDEN_ACTS = ['gelu_new', 'gelu', 'relu', 'gelu_fast', 'quick_gelu', 'silu', 'swish'] as const;
export type HiddenAct = (typeof SUPPORTED_HIDDEN_ACTS)[number];

const PROBLEM_TYPES = ['regression', 'single_label_classification', 'multi_label_classification'] as const;
export type ProblemType = (typeof PROBLEM_TYPES)[number];

export interface AlbertConfig {
  vocabSize: number;
  embeddingSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numHiddenGroups: number;
  numAttentionHeads: number;
  intermediateSize: number;
  innerGroupNum: number;
  hiddenAct: HiddenAct;
  layerNormEps: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  positionEmbeddingType: 'absolute';
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
  classifierDropoutProb?: number;
  architectures: string[];
  id2label: Record<number, string>;
  label2id: Record<string, number>;
  numLabels: number;
  problemType?: ProblemType;
}

/** AlbertConfig.__init__ defaults (albert-xxlarge geometry), by JSON field name. */
const SIZE_DEFAULTS = {
  vocab_size: 30000,
  embedding_size: 128,
  hidden_size: 4096,
  num_hidden_layers: 12,
  num_hidden_groups: 1,
  num_attention_heads: 64,
  intermediate_size: 16384,
  inner_group_num: 1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
} as const;

const TOKEN_ID_DEFAULTS = { pad_token_id: 0, bos_token_id: 2, eos_token_id: 3 } as const;

/**
 * The checkpoint bounds every size but two: how often the shared layers run, and how many labels
 * are named when only num_labels is given. Without a limit a corrupted number there turns into a
 * forward pass that never ends, or a weight table or label list that exhausts the heap before the
 * checkpoint is even looked at. Published ALBERTs run 12 or 24 layers.
 */
export const MAX_LAYERS_PER_PASS = 1024;
export const MAX_GENERATED_LABELS = 1 << 20;

/** Parses and validates a config; throws CONFIG_INVALID naming the field and what was expected. */
export function parseConfig(json: unknown, fileName = 'config.json'): AlbertConfig {
  const fail = (what: string): never => {
    throw new AlbertError('CONFIG_INVALID', `${fileName}: ${what}`);
  };

  let raw = json;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (error) {
      return fail(`not valid JSON (${(error as Error).message})`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('must be a JSON object');
  const fields = raw as Record<string, unknown>;

  if (fields.model_type !== undefined && fields.model_type !== 'albert') {
    fail(`model_type is ${quote(fields.model_type)}, expected "albert"`);
  }

  // A field that is present is validated as given, even null: only absent fields take defaults.
  const fieldOr = (name: string, defaultValue: unknown): unknown => (Object.hasOwn(fields, name) ? fields[name] : defaultValue);
  const size = (name: keyof typeof SIZE_DEFAULTS): number => {
    const value = fieldOr(name, SIZE_DEFAULTS[name]);
    if (!Number.isSafeInteger(value) || (value as number) <= 0) {
      fail(`${name} must be a positive integer, got ${quote(value)}`);
    }
    return value as number;
  };
  const tokenId = (name: keyof typeof TOKEN_ID_DEFAULTS): number => {
    // null appears in some exported configs for "no such token"; the tokenizer decides then.
    const value = fields[name] ?? TOKEN_ID_DEFAULTS[name];
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      fail(`${name} must be a non-negative integer, got ${quote(value)}`);
    }
    return value as number;
  };

  const vocabSize = size('vocab_size');
  const hiddenSize = size('hidden_size');
  const numHiddenLayers = size('num_hidden_layers');
  const numHiddenGroups = size('num_hidden_groups');
  const numAttentionHeads = size('num_attention_heads');
  if (hiddenSize % numAttentionHeads !== 0) {
    fail(`hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numAttentionHeads}`);
  }
  if (numHiddenLayers % numHiddenGroups !== 0) {
    fail(`num_hidden_layers ${numHiddenLayers} is not a multiple of num_hidden_groups ${numHiddenGroups}`);
  }
  const innerGroupNum = size('inner_group_num');
  if (numHiddenLayers * innerGroupNum > MAX_LAYERS_PER_PASS) {
    fail(`num_hidden_layers ${numHiddenLayers} × inner_group_num ${innerGroupNum} layers per forward pass is more than the ${MAX_LAYERS_PER_PASS} supported`);
  }

  const hiddenAct = fieldOr('hidden_act', 'gelu_new');
  if (!(SUPPORTED_HIDDEN_ACTS as readonly unknown[]).includes(hiddenAct)) {
    fail(`hidden_act ${quote(hiddenAct)} is not supported (supported: ${SUPPORTED_HIDDEN_ACTS.join(', ')})`);
  }

  const layerNormEps = fieldOr('layer_norm_eps', 1e-12);
  if (typeof layerNormEps !== 'number' || !(layerNormEps > 0) || !Number.isFinite(layerNormEps)) {
    fail(`layer_norm_eps must be a positive number, got ${quote(layerNormEps)}`);
  }

  const positionEmbeddingType = fieldOr('position_embedding_type', 'absolute');
  if (positionEmbeddingType !== 'absolute') {
    fail(`position_embedding_type ${quote(positionEmbeddingType)} is not supported (only "absolute"; relative_key and relative_key_query are not implemented)`);
  }

  const padTokenId = tokenId('pad_token_id');
  if (padTokenId >= vocabSize) fail(`pad_token_id ${padTokenId} is not below vocab_size ${vocabSize}`);

  const classifierDropoutProb = fields.classifier_dropout_prob ?? 0.1;
  if (typeof classifierDropoutProb !== 'number') {
    fail(`classifier_dropout_prob must be a number, got ${quote(classifierDropoutProb)}`);
  }

  const architectures = fields.architectures ?? [];
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string')) {
    fail(`architectures must be an array of strings, got ${quote(architectures)}`);
  }

  const problemType = fields.problem_type ?? undefined;
  if (problemType !== undefined && !(PROBLEM_TYPES as readonly unknown[]).includes(problemType)) {
    fail(`problem_type ${quote(problemType)} is not one of ${PROBLEM_TYPES.join(', ')}`);
  }

  return {
    vocabSize,
    embeddingSize: size('embedding_size'),
    hiddenSize,
    numHiddenLayers,
    numHiddenGroups,
    numAttentionHeads,
    intermediateSize: size('intermediate_size'),
    innerGroupNum,
    hiddenAct: hiddenAct as HiddenAct,
    layerNormEps: layerNormEps as number,
    maxPositionEmbeddings: size('max_position_embeddings'),
    typeVocabSize: size('type_vocab_size'),
    positionEmbeddingType: 'absolute',
    padTokenId,
    bosTokenId: tokenId('bos_token_id'),
    eosTokenId: tokenId('eos_token_id'),
    classifierDropoutProb: classifierDropoutProb as number,
    architectures: architectures as string[],
    ...parseLabels(fields, fail),
    ...(problemType !== undefined && { problemType: problemType as ProblemType }),
  };
}

/**
 * PretrainedConfig's rules: id2label (JSON keys are strings) wins and sets num_labels; without it,
 * num_labels (default 2) generates LABEL_0…; label2id is the file's when given, else the inverse.
 */
function parseLabels(fields: Record<string, unknown>, fail: (what: string) => never) {
  const id2label: Record<number, string> = {};
  const rawId2label = fields.id2label ?? undefined;
  if (rawId2label !== undefined) {
    if (typeof rawId2label !== 'object' || rawId2label === null || Array.isArray(rawId2label)) {
      fail(`id2label must be an object of label names by id, got ${quote(rawId2label)}`);
    }
    for (const [key, label] of Object.entries(rawId2label as object)) {
      const id = Number(key);
      if (!/^\d+$/.test(key) || !Number.isSafeInteger(id)) fail(`id2label key ${quote(key)} is not a label id (a non-negative integer)`);
      if (typeof label !== 'string') fail(`id2label[${quote(key)}] must be a string, got ${quote(label)}`);
      id2label[id] = label;
    }
  } else {
    const numLabels = fields.num_labels ?? 2;
    if (!Number.isSafeInteger(numLabels) || (numLabels as number) <= 0) {
      fail(`num_labels must be a positive integer, got ${quote(numLabels)}`);
    }
    if ((numLabels as number) > MAX_GENERATED_LABELS) {
      fail(`num_labels ${numLabels} is more than the ${MAX_GENERATED_LABELS} supported without an id2label`);
    }
    for (let id = 0; id < (numLabels as number); id++) id2label[id] = `LABEL_${id}`;
  }

  let label2id: Record<string, number>;
  const rawLabel2id = rawId2label !== undefined ? (fields.label2id ?? undefined) : undefined;
  if (rawLabel2id !== undefined) {
    if (typeof rawLabel2id !== 'object' || rawLabel2id === null || Array.isArray(rawLabel2id)) {
      fail(`label2id must be an object of ids by label name, got ${quote(rawLabel2id)}`);
    }
    for (const [label, id] of Object.entries(rawLabel2id as object)) {
      if (!Number.isSafeInteger(id) || id < 0) fail(`label2id[${quote(label)}] must be a non-negative integer, got ${quote(id)}`);
    }
    label2id = { ...(rawLabel2id as Record<string, number>) };
  } else {
    label2id = Object.fromEntries(Object.entries(id2label).map(([id, label]) => [label, Number(id)]));
  }
  return { id2label, label2id, numLabels: Object.keys(id2label).length };
}
