import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AlbertError } from './errors.js';
import { AlbertModel, type OutputName } from './model/albert.js';
import { AlbertTokenizer } from './tokenizer/index.js';
import { openSource } from './io/source.js';
import { DEFAULT_MODEL } from './tasks/default-model.js';
import { featureExtraction } from './tasks/feature-extraction.js';
import { fillMask, type FillMaskPrediction } from './tasks/fill-mask.js';
import { loadTaskContext, loadTokenizer, withModelFiles, type PipelineOptions } from './tasks/pipeline.js';
import { questionAnswering, type Answer } from './tasks/question-answering.js';
import { textClassification, type LabelScore } from './tasks/text-classification.js';
import { tokenClassification } from './tasks/token-classification.js';
import { zeroShotClassification, type ZeroShotResult } from './tasks/zero-shot-classification.js';

/**
 * The `albert` command. Results go to stdout; an AlbertError is one line on stderr and exit code 2,
 * anything unexpected a short report and exit code 1.
 */

type Values = Record<string, string | boolean | undefined>;

interface Command {
  summary: string;
  usage: string;
  options: ParseArgsConfig['options'];
  run(values: Values, positionals: string[]): Promise<void>;
}

const MODEL_OPTION = { model: { type: 'string', default: DEFAULT_MODEL }, tokenizer: { type: 'string' } } as const;
const JSON_OPTION = { json: { type: 'boolean' } } as const;
const TOP_K_OPTION = { 'top-k': { type: 'string' } } as const;

async function readInput(path: string): Promise<string> {
  if (path !== '-') {
    try {
      return await readFile(path, 'utf8');
    } catch (cause) {
      throw new AlbertError('INPUT_INVALID', `cannot read --input ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new AlbertError('INPUT_INVALID', `${what} is not valid JSON: ${(cause as Error).message}`);
  }
}

function topK(values: Values): number | undefined {
  if (values['top-k'] === undefined) return undefined;
  const k = Number(values['top-k']);
  if (!Number.isInteger(k) || k < 1) throw new AlbertError('INPUT_INVALID', `--top-k must be a positive integer, got ${values['top-k']}`);
  return k;
}

function text(positionals: string[], what = 'a text'): string {
  if (positionals.length === 0) throw new AlbertError('INPUT_INVALID', `give ${what} as the argument (quote it)`);
  return positionals.join(' ');
}

/** Download progress on stderr, only for a person watching a terminal. */
function loadOptions(): PipelineOptions {
  const options: PipelineOptions = { onWarning: (m) => console.error(`albert: ${m}`) };
  if (!process.stderr.isTTY) return options;
  let last = 0;
  options.onProgress = ({ file, loaded, total }) => {
    const now = Date.now();
    const done = total !== undefined && loaded >= total;
    if (now - last < 100 && !done) return;
    last = now;
    const mb = (n: number) => (n / 2 ** 20).toFixed(1);
    const width = 24;
    const bar = total ? '█'.repeat(Math.round((loaded / total) * width)).padEnd(width, '░') : '';
    process.stderr.write(`\r${file.padEnd(20)} ${bar} ${mb(loaded)}${total ? `/${mb(total)}` : ''} MB${done ? '\n' : ''}`);
  };
  return options;
}

/** --tokenizer: a spiece.model or tokenizer.json file, or a place holding one (dir, URL, hub id). */
async function tokenizerFrom(where: string, options: PipelineOptions): Promise<AlbertTokenizer> {
  if (/\.(model|json)$/.test(where) && !/^https?:/.test(where)) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(where);
    } catch (cause) {
      throw new AlbertError('SOURCE_NOT_FOUND', `cannot read --tokenizer ${where}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
    }
    const fileName = where.split('/').pop();
    return where.endsWith('.json') ? AlbertTokenizer.fromTokenizerJson(bytes, { fileName }) : AlbertTokenizer.fromSentencePiece(bytes, { fileName });
  }
  return loadTokenizer(openSource(where, options));
}

/** The model and its tokenizer: from --model's files, or from --tokenizer (a checkpoint without one). */
async function context(values: Values) {
  const options = loadOptions();
  if (typeof values.tokenizer === 'string') {
    return loadTaskContext(String(values.model), { ...options, tokenizer: await tokenizerFrom(values.tokenizer, options) });
  }
  return loadTaskContext(String(values.model), options);
}

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
const score = (s: number) => s.toFixed(4);

const commands: Record<string, Command> = {
  'fill-mask': {
    summary: 'predict the [MASK] tokens of a text',
    usage: `albert fill-mask [--model <dir|url|hub id>] [--tokenizer <file|dir>] [--top-k 5] [--json] "<text with [MASK]>"`,
    options: { ...MODEL_OPTION, ...JSON_OPTION, ...TOP_K_OPTION },
    async run(values, positionals) {
      const input = text(positionals, 'a text containing [MASK]');
      const ctx = await context(values);
      const result = await fillMask(ctx, input, { top_k: topK(values) });
      if (values.json) return print(result);
      const perMask = (Array.isArray(result[0]) ? result : [result]) as FillMaskPrediction[][];
      perMask.forEach((predictions, i) => {
        if (perMask.length > 1) console.log(`[MASK] ${i + 1}:`);
        for (const p of predictions) console.log(`${score(p.score)}  ${p.token_str.padEnd(14)} ${p.sequence}`);
      });
    },
  },
  embed: {
    summary: 'sentence embeddings (mean pooling, normalized) as JSON',
    usage: `albert embed [--model <dir|url|hub id>] [--tokenizer <file|dir>] [--pooling mean|cls|none] [--no-normalize] "<text>" ["<text>" ...]`,
    options: { ...MODEL_OPTION, pooling: { type: 'string', default: 'mean' }, 'no-normalize': { type: 'boolean' } },
    async run(values, positionals) {
      if (positionals.length === 0) throw new AlbertError('INPUT_INVALID', 'give one or more texts to embed');
      const ctx = await context(values);
      const pooling = values.pooling as 'mean' | 'cls' | 'none';
      const t = await featureExtraction(ctx, positionals, { pooling, normalize: !values['no-normalize'] });
      print({ shape: t.dims, data: Array.from(t.data) });
    },
  },
  classify: {
    summary: 'text classification with the labels of the model',
    usage: `albert classify --model <dir|url|hub id> [--tokenizer <file|dir>] [--pair "<second text>"] [--top-k 1] [--json] "<text>"`,
    options: { ...MODEL_OPTION, ...JSON_OPTION, ...TOP_K_OPTION, pair: { type: 'string' } },
    async run(values, positionals) {
      const input = text(positionals);
      const ctx = await context(values);
      const pair = typeof values.pair === 'string' ? { text: input, text_pair: values.pair } : input;
      const result = (await textClassification(ctx, pair, { top_k: topK(values) })) as LabelScore[];
      if (values.json) return print(result);
      for (const r of result) console.log(`${score(r.score)}  ${r.label}`);
    },
  },
  ner: {
    summary: 'token classification (named entities) with offsets',
    usage: `albert ner --model <dir|url|hub id> [--tokenizer <file|dir>] [--aggregation none|simple|first|average|max] [--json] "<text>"`,
    options: { ...MODEL_OPTION, ...JSON_OPTION, aggregation: { type: 'string', default: 'simple' } },
    async run(values, positionals) {
      const input = text(positionals);
      const ctx = await context(values);
      const result = (await tokenClassification(ctx, input, { aggregation_strategy: values.aggregation as 'simple' })) as {
        entity?: string;
        entity_group?: string;
        score: number;
        start: number;
        end: number;
      }[];
      if (values.json) return print(result);
      for (const e of result) console.log(`${score(e.score)}  ${(e.entity_group ?? e.entity)!.padEnd(10)} ${e.start}-${e.end}  ${input.slice(e.start, e.end)}`);
    },
  },
  qa: {
    summary: 'extractive question answering over a context',
    usage: `albert qa --model <dir|url|hub id> [--tokenizer <file|dir>] --question "<question>" --context "<context>" [--top-k 1] [--json]`,
    options: { ...MODEL_OPTION, ...JSON_OPTION, ...TOP_K_OPTION, question: { type: 'string' }, context: { type: 'string' } },
    async run(values) {
      if (typeof values.question !== 'string' || typeof values.context !== 'string') {
        throw new AlbertError('INPUT_INVALID', 'albert qa needs --question and --context');
      }
      const ctx = await context(values);
      const k = topK(values) ?? 1;
      const result = await questionAnswering(ctx, { question: values.question, context: values.context }, { top_k: k });
      if (values.json) return print(result);
      for (const a of (k === 1 ? [result] : result) as Answer[]) console.log(`${score(a.score)}  ${a.start}-${a.end}  ${a.answer}`);
    },
  },
  'zero-shot': {
    summary: 'zero-shot classification into your labels with an NLI model',
    usage: `albert zero-shot --model <dir|url|hub id> [--tokenizer <file|dir>] --labels a,b,c [--multi-label] [--template "This example is {}."] [--json] "<text>"`,
    options: { ...MODEL_OPTION, ...JSON_OPTION, labels: { type: 'string' }, 'multi-label': { type: 'boolean' }, template: { type: 'string' } },
    async run(values, positionals) {
      const input = text(positionals);
      if (typeof values.labels !== 'string') throw new AlbertError('INPUT_INVALID', 'albert zero-shot needs --labels a,b,c');
      const ctx = await context(values);
      const result = (await zeroShotClassification(ctx, input, {
        candidate_labels: values.labels,
        multi_label: Boolean(values['multi-label']),
        hypothesis_template: typeof values.template === 'string' ? values.template : undefined,
        onWarning: (m) => console.error(`albert: ${m}`),
      })) as ZeroShotResult;
      if (values.json) return print(result);
      result.labels.forEach((label, i) => console.log(`${score(result.scores[i])}  ${label}`));
    },
  },
  tokenize: {
    summary: 'token ids, tokens and offsets of a text (or a pair)',
    usage: `albert tokenize [--model <dir|url|hub id>] [--pair "<second text>"] [--json] "<text>"
       albert tokenize [--model ...] --input <file.json|->   (an array of strings or [text, pair] arrays)`,
    options: { ...MODEL_OPTION, ...JSON_OPTION, pair: { type: 'string' }, input: { type: 'string' } },
    async run(values, positionals) {
      const tokenizer =
        typeof values.tokenizer === 'string'
          ? await tokenizerFrom(values.tokenizer, loadOptions())
          : (await withModelFiles(String(values.model), loadOptions(), async (files) => ({ tokenizer: await loadTokenizer(files) }))).tokenizer;
      const pick = (e: ReturnType<typeof tokenizer.encode>) => ({
        input_ids: e.input_ids,
        token_type_ids: e.token_type_ids,
        attention_mask: e.attention_mask,
        tokens: e.tokens,
        offsets: e.offsets,
      });
      if (typeof values.input === 'string') {
        const items = parseJson(await readInput(values.input), `--input ${values.input}`);
        const valid = Array.isArray(items) && items.every((x) => typeof x === 'string' || (Array.isArray(x) && x.length === 2 && x.every((y) => typeof y === 'string')));
        if (!valid) throw new AlbertError('INPUT_INVALID', `--input ${values.input} must be a JSON array of strings or [text, pair] arrays`);
        return print((items as (string | [string, string])[]).map((x) => pick(typeof x === 'string' ? tokenizer.encode(x) : tokenizer.encode(x[0], { pair: x[1] }))));
      }
      const encoding = tokenizer.encode(text(positionals), { pair: typeof values.pair === 'string' ? values.pair : undefined });
      if (values.json) return print(pick(encoding));
      console.log(encoding.input_ids.join(' '));
      console.log(encoding.tokens.join(' '));
    },
  },
  run: {
    summary: 'run the model on token ids (JSON in, JSON out)',
    usage: `albert run --model <dir|url|hub id> --input <file.json|-> [--outputs last_hidden_state,pooler_output,logits,...]

Reads {"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]]} (the last two
optional) and prints {"<output>": {"shape": [...], "data": [flat numbers]}} on stdout.`,
    options: { model: { type: 'string' }, input: { type: 'string', default: '-' }, outputs: { type: 'string' } },
    async run(values) {
      if (typeof values.model !== 'string') throw new AlbertError('INPUT_INVALID', 'albert run needs --model <dir|url|hub id>');
      const input = parseJson(await readInput(String(values.input)), `--input ${values.input}`);
      if (!input || typeof input !== 'object' || Array.isArray(input)) {
        throw new AlbertError('INPUT_INVALID', `--input ${values.input} must be a JSON object {"input_ids": [[...]], ...}`);
      }
      const model = await AlbertModel.load(values.model, loadOptions());
      const outputs = typeof values.outputs === 'string' ? (values.outputs.split(',').map((s) => s.trim()) as OutputName[]) : undefined;
      const result = await model.forward(input as never, { outputs });
      print(Object.fromEntries(Object.entries(result).map(([name, t]) => [name, { shape: t!.dims, data: Array.from(t!.data) }])));
    },
  },
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    'albert: ALBERT models in WebAssembly',
    '',
    'usage: albert <command> [options]   (albert <command> --help for more)',
    '',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    `--model takes a directory, a URL prefix or a hub id (default ${DEFAULT_MODEL}; HF_ENDPOINT, HF_HOME apply).`,
    '--tokenizer names a spiece.model or tokenizer.json file, or a place holding one, for checkpoints that lack one.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`albert: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (err) {
    console.error(`albert ${name}: ${(err as Error).message}\nusage: ${command.usage.split('\n')[0]}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(`usage: ${command.usage}`);
    return 0;
  }
  await command.run(parsed.values as Values, parsed.positionals);
  return 0;
}

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof AlbertError) {
      console.error(`albert: ${err.message} [${err.code}]`);
      process.exitCode = 2;
    } else {
      console.error(`albert: unexpected error (a bug; please report it): ${err?.stack ?? err}`);
      process.exitCode = 1;
    }
  },
);
