import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AlbertError } from './errors.js';
import { AlbertModel, type OutputName } from './model/albert.js';

/**
 * The `albert` command. Results go to stdout; an AlbertError is one line on stderr and exit code 2,
 * anything unexpected a short report and exit code 1.
 */

interface Command {
  summary: string;
  usage: string;
  options: ParseArgsConfig['options'];
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<void>;
}

async function readInput(path: string): Promise<string> {
  if (path !== '-') return readFile(path, 'utf8');
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

const commands: Record<string, Command> = {
  run: {
    summary: 'run the model on token ids (JSON in, JSON out)',
    usage: `albert run --model <dir|url> --input <file.json|-> [--outputs last_hidden_state,pooler_output,logits,...]

Reads {"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]]} (the last two
optional) and prints {"<output>": {"shape": [...], "data": [flat numbers]}} on stdout.`,
    options: {
      model: { type: 'string' },
      input: { type: 'string', default: '-' },
      outputs: { type: 'string' },
    },
    async run(values) {
      if (typeof values.model !== 'string') throw new AlbertError('INPUT_INVALID', 'albert run needs --model <dir|url>');
      const input = parseJson(await readInput(String(values.input)), `--input ${values.input}`);
      if (!input || typeof input !== 'object' || Array.isArray(input)) {
        throw new AlbertError('INPUT_INVALID', `--input ${values.input} must be a JSON object {"input_ids": [[...]], ...}`);
      }
      const model = await AlbertModel.load(values.model, { onWarning: (m) => console.error(`warning: ${m}`) });
      const outputs = typeof values.outputs === 'string' ? (values.outputs.split(',').map((s) => s.trim()) as OutputName[]) : undefined;
      const result = await model.forward(input as never, { outputs });
      const json = Object.fromEntries(
        Object.entries(result).map(([name, t]) => [name, { shape: t!.dims, data: Array.from(t!.data) }]),
      );
      process.stdout.write(`${JSON.stringify(json)}\n`);
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
  await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
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
