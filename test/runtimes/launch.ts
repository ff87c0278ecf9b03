/**
 * Starts each runtime on the built package (dist/, as `npm run build` leaves it), hands it a probe
 * request and returns its answer with the wall-clock time it took. One function per runtime; each
 * one fails loudly when its runtime cannot start.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, type TestServer } from '../io/http-server.js';
import { FIXTURES_DIR, SHARED_DIR } from '../helpers/fixtures.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);

export interface ProbeRequest {
  /** A folder of ../shared/fixtures. */
  fixture: string;
  cases: { name: string; inputs: object }[];
  outputs: string[];
}

export interface ProbeAnswer {
  runtime: string;
  outputs: Record<string, Record<string, { dims: number[]; data: number[] }>>;
  /** From the library's import to the first forward result, as the runtime's clock says (workerd's stands still while code runs). */
  firstResultMs: number;
  /** The largest the wasm linear memory grew to. */
  wasmMemoryBytes: number;
  weightBytes: number;
}

export interface Probed {
  answer: ProbeAnswer;
  /** From starting the runtime (for Chromium: from opening the page) to having the answer. */
  wallMs: number;
  /** workerd only: the process's peak resident memory (VmHWM), all of workerd included. */
  peakRssBytes?: number;
}

/** Node, Deno and Bun run the same script; only the command differs. */
const COMMANDS = {
  node: () => [process.execPath],
  deno: () => [bin('deno'), 'run', '--no-lock', `--allow-read=${ROOT},${SHARED_DIR}`],
  bun: () => [bin('bun')],
} satisfies Record<string, () => string[]>;

export type CommandRuntime = keyof typeof COMMANDS;

export async function probeCommand(runtime: CommandRuntime, request: ProbeRequest): Promise<Probed> {
  const [command, ...args] = COMMANDS[runtime]();
  const started = performance.now();
  const child = spawn(command, [...args, join(ROOT, 'test/runtimes/probe-cli.mjs')], {
    cwd: ROOT,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(JSON.stringify({ ...request, fixtureDir: join(FIXTURES_DIR, request.fixture) }));
  const [stdout, stderr, code] = await Promise.all([collect(child.stdout), collect(child.stderr), exitOf(child)]);
  if (code !== 0) throw new Error(`${runtime} exited with ${code}:\n${stderr}`);
  return { answer: JSON.parse(stdout), wallMs: performance.now() - started };
}

/**
 * workerd with a minimal config: the probe worker, the package's `workerd` bundle as the module
 * `albert-wasm`, the kernels as a wasm module, and either the fixture's files as data bindings or,
 * for a request that names a `modelUrl` (served by `fixtureServer`), loopback network access.
 */
export async function probeWorkerd(request: ProbeRequest & { modelUrl?: string }): Promise<Probed> {
  const dir = await mkdtemp(join(tmpdir(), 'albert-workerd-'));
  const embed = (path: string) => `embed ${JSON.stringify(relative(dir, path))}`;
  const fixture = join(FIXTURES_DIR, request.fixture);
  const bindings = request.modelUrl
    ? ''
    : `(name = "MODEL_CONFIG", data = ${embed(join(fixture, 'config.json'))}),
        (name = "MODEL_WEIGHTS", data = ${embed(join(fixture, 'model.safetensors'))}),`;
  await writeFile(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "probe", worker = (
      modules = [
        (name = "worker.js", esModule = ${embed(join(ROOT, 'test/runtimes/probe-worker.mjs'))}),
        (name = "probe.js", esModule = ${embed(join(ROOT, 'test/runtimes/probe.js'))}),
        (name = "albert-wasm", esModule = ${embed(join(ROOT, 'dist/workerd.js'))}),
        (name = "albert.wasm", wasm = ${embed(join(ROOT, 'dist/albert.wasm'))}),
      ],
      bindings = [${bindings}],
      compatibilityDate = "2025-09-01",
      globalOutbound = "loopback",
    )),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "probe")],
);
`,
  );
  const started = performance.now();
  // workerd reports the port it bound on the control descriptor (fd 3) once it is ready.
  const child = spawn(bin('workerd'), ['serve', join(dir, 'config.capnp'), 'config', '--control-fd=3'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const stderr = collect(child.stderr!);
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
      child.on('exit', async (code) => reject(new Error(`workerd exited with ${code} before listening:\n${await stderr}`)));
    });
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: JSON.stringify(request) });
    if (!response.ok) {
      const body = await response.text();
      child.kill();
      throw new Error(`workerd answered HTTP ${response.status}:\n${body}\n${await stderr}`);
    }
    const answer = (await response.json()) as ProbeAnswer;
    const wallMs = performance.now() - started;
    return { answer, wallMs, peakRssBytes: await peakRss(child.pid!) };
  } finally {
    child.kill();
    await exitOf(child);
    await rm(dir, { recursive: true, force: true });
  }
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

/** Chromium, driven by playwright-core, opening test/runtimes/probe.html from `fixtureServer`. */
export async function probeChromium(request: ProbeRequest, executablePath: string, server: TestServer): Promise<Probed> {
  // playwright starts each browser with a fresh, temporary profile.
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(String(error)));
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    const started = performance.now();
    await page.goto(`${server.origin}/test/runtimes/probe.html`);
    const answer = await page
      .evaluate((r) => (window as unknown as { probe(r: object): Promise<ProbeAnswer> }).probe(r), {
        ...request,
        fixtureUrl: `${server.origin}/fixtures/${request.fixture}`,
      })
      .catch((error: Error) => {
        throw new Error(`${error.message}\n${problems.join('\n')}`);
      });
    return { answer, wallMs: performance.now() - started };
  } finally {
    await browser.close();
  }
}

/** URL prefixes the fixture server answers, and the folders behind them; nothing else is served. */
const SERVED: Record<string, string> = {
  '/dist/': join(ROOT, 'dist'),
  '/test/runtimes/': join(ROOT, 'test/runtimes'),
  '/examples/': join(ROOT, 'examples'),
  '/fixtures/': join(SHARED_DIR, 'fixtures'),
  '/models/': join(SHARED_DIR, 'models'),
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** A loopback static server for the browser page and for workers that fetch their weights. */
export function fixtureServer(): Promise<TestServer> {
  return startServer(async (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = Object.keys(SERVED).find((p) => path.startsWith(p));
    const file = prefix && normalize(join(SERVED[prefix], path.slice(prefix.length)));
    if (!file || !file.startsWith(SERVED[prefix])) return void res.writeHead(404).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length });
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

function exitOf(child: ReturnType<typeof spawn>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
  return kilobytes * 1024;
}
