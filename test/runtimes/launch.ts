/**
 * Starting each runtime the package promises, for the tests in this folder: Node, Deno and Bun as
 * commands, workerd from a generated config, Chromium through playwright-core, and the loopback
 * server that gives pages and workers their files. Each fails loudly when its runtime cannot start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import type { TestContext } from 'vitest';
import { FIXTURES_DIR, SHARED_DIR } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../io/http-server.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The runtimes' binaries, from their npm packages. */
export const bin = (name: 'deno' | 'bun' | 'workerd') => join(ROOT, 'node_modules/.bin', name);

/** Runs a command to its end; fails with its output unless it exits with 0. */
export async function runCommand(argv: string[], stdin = ''): Promise<{ stdout: string; wallMs: number }> {
  const started = performance.now();
  const child = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin!.end(stdin);
  const [stdout, stderr, code] = await Promise.all([collect(child.stdout!), collect(child.stderr!), exitOf(child)]);
  if (code !== 0) throw new Error(`${argv.join(' ')} exited with ${code}:\n${stderr}${stdout.slice(0, 4000)}`);
  return { stdout, wallMs: performance.now() - started };
}

/**
 * Every kernel variant in dist/ as a wasm module named as dist/workerd.js imports it ('./<file>'):
 * workers get their wasm as modules, never as bytes.
 */
export function kernelModules(): [string, 'wasm', string][] {
  return readdirSync(join(ROOT, 'dist'))
    .filter((file) => file.endsWith('.wasm'))
    .map((file) => [file, 'wasm', join(ROOT, 'dist', file)]);
}

export interface WorkerConfig {
  /** [name, kind, file]; the first module is the worker's entry. */
  modules: [string, 'esModule' | 'wasm', string][];
  /** A data binding is a file's bytes, a text binding a value. */
  bindings?: ({ name: string; data: string } | { name: string; text: string })[];
  compatibilityDate?: string;
  /** host:port of a server answering the Cache API's requests (cacheApiServer); without one, `caches` fails. */
  cacheApi?: string;
}

export interface Workerd {
  origin: string;
  /** The process's peak resident memory (VmHWM) so far, all of workerd included. */
  peakRssBytes(): Promise<number>;
  close(): Promise<void>;
}

/**
 * workerd serving one worker on a free loopback port, with fetch() allowed to loopback addresses
 * only (where `fixtureServer` runs). Resolves once it listens.
 */
export async function startWorkerd(worker: WorkerConfig): Promise<Workerd> {
  const dir = await mkdtemp(join(tmpdir(), 'albert-workerd-'));
  const embed = (path: string) => `embed ${JSON.stringify(relative(dir, path))}`;
  const modules = worker.modules.map(([name, kind, file]) => `(name = ${JSON.stringify(name)}, ${kind} = ${embed(file)})`);
  const bindings = (worker.bindings ?? []).map((b) =>
    'data' in b ? `(name = "${b.name}", data = ${embed(b.data)})` : `(name = "${b.name}", text = ${JSON.stringify(b.text)})`,
  );
  await writeFile(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (
      modules = [${modules.join(', ')}],
      bindings = [${bindings.join(', ')}],
      compatibilityDate = ${JSON.stringify(worker.compatibilityDate ?? '2025-09-01')},
      globalOutbound = "loopback",${worker.cacheApi ? '\n      cacheApiOutbound = "cache",' : ''}
    )),
    (name = "loopback", network = (allow = ["local"])),${worker.cacheApi ? `\n    (name = "cache", external = (address = ${JSON.stringify(worker.cacheApi)}, http = ())),` : ''}
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
`,
  );
  // workerd reports the port it bound on the control descriptor (fd 3) once it is ready.
  const child = spawn(bin('workerd'), ['serve', join(dir, 'config.capnp'), 'config', '--control-fd=3'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const stderr = collect(child.stderr!);
  const close = async () => {
    child.kill();
    await exitOf(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = '';
      child.stdio[3]!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        for (const line of buffered.split('\n').slice(0, -1)) {
          const message = JSON.parse(line) as { event?: string; port?: number };
          if (message.event === 'listen' && message.port) resolve(message.port);
        }
      });
      exitOf(child).then(async (code) => reject(new Error(`workerd exited with ${code} before listening:\n${await stderr}`)), reject);
    });
    return {
      origin: `http://127.0.0.1:${port}`,
      async peakRssBytes() {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) * 1024;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The Chromium that CHROMIUM_PATH names. Outside CI it may be unset, and then the test says it
 * skipped; in CI (.ci/run sets it) a missing browser fails the test.
 */
export function chromiumPath(context: TestContext): string {
  const path = process.env.CHROMIUM_PATH;
  if (!path) {
    if (process.env.CI === 'true') throw new Error('CHROMIUM_PATH must be set in CI (.ci/run sets it to /usr/bin/chromium)');
    const why = 'CHROMIUM_PATH is unset; set it to a Chromium binary (e.g. /usr/bin/chromium) to run the browser tests';
    console.warn(`skipped: ${context.task.fullName}: ${why}`);
    context.skip(why);
  }
  if (!existsSync(path)) throw new Error(`CHROMIUM_PATH=${path} does not exist`);
  return path;
}

/** The flags that run this Chromium headless on a machine without a GPU or a desktop session. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A fresh Chromium (playwright gives each launch a new temporary profile) with one page; errors on the page are added to any failure. */
export async function withChromium<T>(executablePath: string, use: (page: Page) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(String(error)));
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    return await use(page).catch((error: Error) => {
      throw new Error(`${error.message}\n${problems.join('\n')}`, { cause: error });
    });
  } finally {
    await browser.close();
  }
}

/** fixtures/base's weights with albert-base-v2's real tokenizer: a model the tasks run end to end. */
const BASE_WITH_TOKENIZER: Record<string, string> = {
  'config.json': join(FIXTURES_DIR, 'base/config.json'),
  'model.safetensors': join(FIXTURES_DIR, 'base/model.safetensors'),
  'spiece.model': join(SHARED_DIR, 'models/albert-base-v2/spiece.model'),
};

/** BASE_WITH_TOKENIZER as a directory of links (the fixtures are never copied); remove it when done. */
export async function baseWithTokenizerDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'albert-base-v2-'));
  for (const [name, file] of Object.entries(BASE_WITH_TOKENIZER)) await symlink(file, join(dir, name));
  return dir;
}

/** URL prefixes the fixture server answers, and the folders behind them; nothing else is served. */
const SERVED: Record<string, string> = {
  '/dist/': join(ROOT, 'dist'),
  '/test/runtimes/': join(ROOT, 'test/runtimes'),
  '/examples/': join(ROOT, 'examples'),
  '/fixtures/': FIXTURES_DIR,
};

/** The fixture server's hub endpoint path: hub id `fixtures/tiny` is fixtures/tiny. */
export const HUB_PATH = '/hub';

/** Where the fixture server offers BASE_WITH_TOKENIZER. */
export const BASE_WITH_TOKENIZER_PATH = '/models/albert-base-v2-random';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

function servedFile(path: string): string | undefined {
  if (path.startsWith(`${BASE_WITH_TOKENIZER_PATH}/`)) return BASE_WITH_TOKENIZER[path.slice(BASE_WITH_TOKENIZER_PATH.length + 1)];
  // A hub's layout (`{endpoint}/{owner}/{name}/resolve/{revision}/{file}`) over the fixtures, as hub id fixtures/<name>.
  const hub = new RegExp(`^${HUB_PATH}/fixtures/([\\w-]+)/resolve/[^/]+/([\\w.-]+)$`).exec(path);
  if (hub) return join(FIXTURES_DIR, hub[1]!, hub[2]!);
  const prefix = Object.keys(SERVED).find((p) => path.startsWith(p));
  if (!prefix || path.split('/').includes('..')) return undefined;
  return join(SERVED[prefix], path.slice(prefix.length));
}

/**
 * The headers that make a page cross-origin isolated (so it has SharedArrayBuffer and shared wasm
 * memory), sent with every file, the page's scripts, wasm and weights included (CORP for the same origin).
 */
export const CROSS_ORIGIN_ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * A loopback static server for pages, and for workers that fetch their weights; `headers` are added
 * to every answer (e.g. CROSS_ORIGIN_ISOLATION).
 */
export function fixtureServer(headers: Record<string, string> = {}): Promise<TestServer> {
  return startServer(async (req: IncomingMessage, res: ServerResponse) => {
    const file = servedFile(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    try {
      if (!file) throw new Error('not served');
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
}

function collect(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

/** The exit code; rejects when the command could not be started at all. */
function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', (error) => reject(new Error(`could not start ${child.spawnfile}: ${error.message}`)));
  });
}

/**
 * A stand-in for Cloudflare's cache behind workerd's Cache API: workerd PUTs a serialized response
 * (status line, headers, body) under the key's URL, GETs it back (answering `Cf-Cache-Status: HIT`
 * or `MISS`) and PURGEs it. `entries` holds what was stored, by URL.
 */
export async function cacheApiServer(): Promise<TestServer & { entries: Map<string, Buffer> }> {
  const entries = new Map<string, Buffer>();
  const server = await startServer(async (req, res) => {
    const key = req.url ?? '';
    if (req.method === 'PUT') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      entries.set(key, Buffer.concat(chunks));
      return void res.writeHead(204).end();
    }
    if (req.method === 'PURGE') return void res.writeHead(entries.delete(key) ? 200 : 404).end();
    const stored = entries.get(key);
    if (!stored) return void res.writeHead(504, { 'cf-cache-status': 'MISS' }).end();
    const split = stored.indexOf('\r\n\r\n');
    const [statusLine, ...headerLines] = stored.subarray(0, split).toString('latin1').split('\r\n');
    const headers: Record<string, string> = { 'cf-cache-status': 'HIT' };
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = stored.subarray(split + 4);
    if (headers['transfer-encoding'] === 'chunked') {
      delete headers['transfer-encoding'];
      body = dechunk(body);
    }
    res.writeHead(Number(statusLine!.split(' ')[1]), headers).end(body);
  });
  return Object.assign(server, { entries });
}

/** The body of a chunked transfer encoding: hex size, CRLF, data, CRLF, …, until a size of 0. */
function dechunk(encoded: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; ; ) {
    const lineEnd = encoded.indexOf('\r\n', at);
    const size = parseInt(encoded.subarray(at, lineEnd).toString('latin1'), 16);
    if (!size) return Buffer.concat(parts);
    parts.push(encoded.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
