// Latency, load time and peak RSS of albert-wasm next to onnxruntime-web (wasm) and onnxruntime-node
// (native) on the same weights (../shared/fixtures/base), in one run of this script.
//
//   node bench/model.mjs [--batch 1] [--seq 128] [--runs 10] [--rounds 3]
//
// Each engine runs in its own child process (so peak RSS is its own), round after round, the engines
// interleaved so machine noise falls on all of them alike; the table reports medians over rounds of
// each round's median latency, and ratios ours / peer. Outputs are checked against onnxruntime-node.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = `${root}../shared/fixtures/base/`;
const { values } = parseArgs({
  options: {
    engine: { type: 'string' },
    batch: { type: 'string', default: '1' },
    seq: { type: 'string', default: '128' },
    runs: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});
const B = Number(values.batch);
const L = Number(values.seq);
const runs = Number(values.runs);

/** Deterministic ids so every engine sees the same input. */
function inputIds() {
  const ids = new Int32Array(B * L);
  let s = 12345;
  for (let i = 0; i < ids.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    ids[i] = i % L === 0 ? 2 : i % L === L - 1 ? 3 : 5 + (s % 29000);
  }
  return ids;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const engines = {
  async ours() {
    const { AlbertModel } = await import(`${root}dist/index.js`);
    const t0 = performance.now();
    const model = await AlbertModel.load(fixture);
    const loadMs = performance.now() - t0;
    const ids = inputIds();
    const input = { input_ids: { data: ids, dims: [B, L] } };
    return { loadMs, run: () => model.forwardSync(input, { outputs: ['last_hidden_state'] }).last_hidden_state.data };
  },
  async 'ort-web'() {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(readFileSync(`${fixture}model.onnx`), { executionProviders: ['wasm'] });
    const loadMs = performance.now() - t0;
    return { loadMs, run: ortRunner(ort, session) };
  },
  async 'ort-node'() {
    const ort = await import('onnxruntime-node');
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(`${fixture}model.onnx`, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    const loadMs = performance.now() - t0;
    return { loadMs, run: ortRunner(ort, session) };
  },
};

function ortRunner(ort, session) {
  const ids = BigInt64Array.from(inputIds(), (v) => BigInt(v));
  const feeds = {
    input_ids: new ort.Tensor('int64', ids, [B, L]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(B * L).fill(1n), [B, L]),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(B * L), [B, L]),
  };
  return async () => (await session.run(feeds)).last_hidden_state.data;
}

async function child(name) {
  const engine = await engines[name]();
  let output = await engine.run(); // first call: compiles, tiers up, sizes buffers
  await engine.run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    output = await engine.run();
    times.push(performance.now() - t0);
  }
  writeFileSync(values.out, Buffer.from(output.buffer, output.byteOffset, output.byteLength));
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ loadMs: engine.loadMs, medianMs: median(times), rssMiB }));
}

async function parent() {
  const dir = mkdtempSync(`${tmpdir()}/albert-bench-`);
  const names = Object.keys(engines);
  const rounds = Number(values.rounds);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const out = `${dir}/${name}.f32`;
      const args = [fileURLToPath(import.meta.url), '--engine', name, '--batch', String(B), '--seq', String(L), '--runs', String(runs), '--out', out];
      const json = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      results[name].push(JSON.parse(json));
    }
  }
  const f32 = (name) => new Float32Array(readFileSync(`${dir}/${name}.f32`).buffer.slice(0));
  const reference = f32('ort-node');
  const summary = names.map((name) => {
    const rs = results[name];
    const out = f32(name);
    let maxDiff = 0;
    for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - reference[i]));
    return {
      name,
      medianMs: median(rs.map((r) => r.medianMs)),
      loadMs: median(rs.map((r) => r.loadMs)),
      rssMiB: median(rs.map((r) => r.rssMiB)),
      maxDiff,
    };
  });
  const ours = summary[0];
  console.log(`fixtures/base, batch ${B}, sequence ${L}, 1 thread, f32; ${rounds} rounds × ${runs} runs; ${cpus()[0].model}; Node ${process.versions.node}`);
  console.log('| engine | median latency (ms) | ours / it | load (ms) | ours / it | peak RSS (MiB) | ours / it | max abs diff vs ort-node |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const s of summary) {
    const ratio = (a, b) => (a / b).toFixed(2);
    console.log(
      `| ${s.name} | ${s.medianMs.toFixed(1)} | ${ratio(ours.medianMs, s.medianMs)} | ${s.loadMs.toFixed(0)} | ${ratio(ours.loadMs, s.loadMs)} | ${s.rssMiB.toFixed(0)} | ${ratio(ours.rssMiB, s.rssMiB)} | ${s.maxDiff.toExponential(1)} |`,
    );
  }
  const bad = summary.filter((s) => !(s.maxDiff <= 1e-3));
  if (bad.length) {
    console.error(`outputs disagree with onnxruntime-node: ${bad.map((s) => `${s.name} ${s.maxDiff}`).join(', ')}`);
    process.exitCode = 1;
  }
}

if (values.engine) await child(values.engine);
else await parent();
