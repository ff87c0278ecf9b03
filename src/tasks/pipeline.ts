import { AlbertError } from '../errors.js';
import { openSource, type FileSource, type ModelSource } from '../io/source.js';
import { AlbertModel, type LoadOptions } from '../model/albert.js';
import { AlbertTokenizer, type AlbertTokenizerOptions } from '../tokenizer/index.js';
import type { TaskContext } from './common.js';
import { DEFAULT_MODEL, embeddedDefaultModel } from './default-model.js';
import { featureExtraction } from './feature-extraction.js';
import { fillMask } from './fill-mask.js';
import { questionAnswering } from './question-answering.js';
import { textClassification } from './text-classification.js';
import { tokenClassification } from './token-classification.js';
import { zeroShotClassification } from './zero-shot-classification.js';

export interface PipelineOptions extends LoadOptions {
  /** Use this tokenizer instead of the one among the model's files. */
  tokenizer?: AlbertTokenizer;
  /** Overrides for the tokenizer read from the model's files (tokenizer_config.json's values otherwise). */
  tokenizerOptions?: AlbertTokenizerOptions;
}

const TASKS = {
  'fill-mask': fillMask,
  'feature-extraction': featureExtraction,
  embeddings: featureExtraction,
  'text-classification': textClassification,
  'sentiment-analysis': textClassification,
  'token-classification': tokenClassification,
  ner: tokenClassification,
  'question-answering': questionAnswering,
  'zero-shot-classification': zeroShotClassification,
};

export type TaskName = keyof typeof TASKS;
type TaskFn<T extends TaskName> = (typeof TASKS)[T];

/** A task bound to a model: call it like a function, as transformers.js pipelines are called. */
export type Pipeline<T extends TaskName> = ((input: Parameters<TaskFn<T>>[1], options?: Parameters<TaskFn<T>>[2]) => ReturnType<TaskFn<T>>) &
  TaskContext & { task: T; source: string };

/** Reads the tokenizer among a model's files: spiece.model (exact, smallest) or else tokenizer.json. */
export async function loadTokenizer(files: FileSource, options: AlbertTokenizerOptions = {}): Promise<AlbertTokenizer> {
  const configBytes = await files.tryRead('tokenizer_config.json');
  const fromConfig: AlbertTokenizerOptions = {};
  if (configBytes) {
    let c: Record<string, unknown>;
    try {
      c = JSON.parse(new TextDecoder().decode(configBytes));
    } catch (cause) {
      throw new AlbertError('TOKENIZER_INVALID', `tokenizer_config.json in ${files.description} is not valid JSON`, { cause });
    }
    if (typeof c.do_lower_case === 'boolean') fromConfig.doLowerCase = c.do_lower_case;
    if (typeof c.keep_accents === 'boolean') fromConfig.keepAccents = c.keep_accents;
    if (typeof c.remove_space === 'boolean') fromConfig.removeSpace = c.remove_space;
    // Hub configs often say 1e30 for "no limit"; the model's positions are the real limit then.
    if (typeof c.model_max_length === 'number' && c.model_max_length <= 1e6) fromConfig.modelMaxLength = c.model_max_length;
  }
  const merged = { ...fromConfig, ...options };
  const spiece = await files.tryRead('spiece.model');
  if (spiece) return AlbertTokenizer.fromSentencePiece(spiece, { fileName: 'spiece.model', ...merged });
  const json = await files.tryRead('tokenizer.json');
  if (json) return AlbertTokenizer.fromTokenizerJson(new TextDecoder().decode(json), { fileName: 'tokenizer.json', ...merged });
  throw new AlbertError('SOURCE_NOT_FOUND', `${files.description} has neither spiece.model nor tokenizer.json`);
}

async function loadFrom(files: FileSource, options: PipelineOptions): Promise<TaskContext> {
  const [model, tokenizer] = await Promise.all([
    AlbertModel.load(files, options),
    options.tokenizer ?? loadTokenizer(files, options.tokenizerOptions),
  ]);
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new AlbertError('TOKENIZER_INVALID', `the tokenizer has ${tokenizer.vocabSize} pieces but the model's vocab_size is ${model.config.vocabSize}`);
  }
  return { model, tokenizer };
}

/**
 * Runs `load` on the files of `source`. The default, albert/albert-base-v2 from the hub, falls back to an
 * embedded stand-in (real tokenizer, random weights) when the hub cannot be reached and nothing is
 * cached, and says so through onWarning.
 */
export async function withModelFiles<T>(source: ModelSource, options: PipelineOptions, load: (files: FileSource) => Promise<T>): Promise<T & { source: string }> {
  const files = openSource(source, options);
  try {
    return { ...(await load(files)), source: files.description };
  } catch (err) {
    if (source !== DEFAULT_MODEL || !(err instanceof AlbertError) || err.code !== 'SOURCE_FAILED') throw err;
    const fallback = embeddedDefaultModel();
    (options.onWarning ?? console.warn)(`${DEFAULT_MODEL} could not be downloaded (${err.message}); using ${fallback.description}: its predictions are meaningless`);
    return { ...(await load(fallback)), source: fallback.description };
  }
}

/** Loads a model and its tokenizer from a directory, URL prefix, hub id or in-memory files. */
export async function loadTaskContext(source: ModelSource = DEFAULT_MODEL, options: PipelineOptions = {}): Promise<TaskContext & { source: string }> {
  return withModelFiles(source, options, (files) => loadFrom(files, options));
}

/** A loaded `{ model, tokenizer }`; a pipeline is one too (a function carrying both). */
const isTaskContext = (x: unknown): x is TaskContext & { source?: string } =>
  (typeof x === 'object' || typeof x === 'function') &&
  x !== null &&
  (x as TaskContext).model instanceof AlbertModel &&
  (x as TaskContext).tokenizer instanceof AlbertTokenizer;

/**
 * `await pipeline('fill-mask')` → `await unmasker('Paris is the [MASK] of France.')`. `model` may also
 * be an already loaded `{ model, tokenizer }` (another pipeline, or loadTaskContext's result), so
 * several tasks share one copy of the weights.
 */
export async function pipeline<T extends TaskName>(
  task: T,
  model: ModelSource | TaskContext = DEFAULT_MODEL,
  options: PipelineOptions = {},
): Promise<Pipeline<T>> {
  const run = TASKS[task] as (ctx: TaskContext, input: unknown, options?: unknown) => Promise<unknown>;
  if (!run) throw new AlbertError('INPUT_INVALID', `unknown task "${String(task)}"; tasks: ${Object.keys(TASKS).join(', ')}`);
  const ctx = isTaskContext(model)
    ? { model: model.model, tokenizer: model.tokenizer, source: model.source ?? 'a loaded model' }
    : await loadTaskContext(model as ModelSource, options);
  const bound = (input: unknown, taskOptions?: unknown) => run(ctx, input, taskOptions);
  return Object.assign(bound, ctx, { task }) as unknown as Pipeline<T>;
}
