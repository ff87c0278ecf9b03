// Latency, throughput, load time and peak RSS of albert-wasm next to onnxruntime-web (wasm) and
// onnxruntime-node (native) on the same weights (../shared/fixtures/base: model.safetensors for us,
// model.onnx and model_quantized.onnx for the peers), in one run of this script. `npm run build` first.
//
//   npm run bench                                   the full matrix in Node (about an hour on 2 cores:
//                                                   batch 8 × 512 at one thread is 30 s a run for onnxruntime-web)
//   npm run bench -- --quick                        batch 1 and 8 at sequence 128 only (about 15 minutes)
//   npm run bench -- --runtime deno [--quick]       ours and onnxruntime-web in Deno (relaxed SIMD)
//   options: --rounds 2 --runs 5 --pairs 10 --batch 1,8 --seq 16,128,512 --dtype f32,int8 --threads 1,2
//
// Every (engine, dtype, threads, batch, sequence) runs in its own child process, so load time and
// peak RSS are its own. Rounds repeat the whole matrix with the engines interleaved (back to back per
// configuration), so machine noise falls on all alike. Each child reports the median latency of its
// runs after warm-up. The shared machines' noise comes in bursts of minutes, so across rounds a cell
// shows the best round (other jobs only ever add time) and the median round, and each ratio ours /
// peer is the median over rounds of that round's ratio (both ran within seconds of each other).
// While timing it checks that our outputs agree: f32 within 1e-3 (max abs) of onnxruntime-node f32,
// int8 at cosine ≥ 0.9995 (per token, the smallest) to our f32. onnxruntime-node's cells always run
// in Node (native); --runtime picks where ours and onnxruntime-web run.
// At L128 the goals' ratios are also measured in pairs, once per round: one process loads ours and
// onnxruntime-web (one thread, batch 1), ours in int8 and onnxruntime-node in f32 (one thread,
// batch 1; Deno loads the Node addon, at the speed Node runs it), ours on 1 thread and on 2 (batch
// 1), or ours at batch 1 and 8 (one thread), and alternates their passes (--pairs pairs), so both
// sides of each ratio see the same few seconds of the machine, where the cells run seconds to
// minutes apart. The goals are judged on these.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = `${root}../shared/fixtures/base/`;
const argv = globalThis.Deno ? Deno.args : process.argv.slice(2);
const { values } = parseArgs({
  args: argv,
  options: {
    child: { type: 'string' },
    runtime: { type: 'string', default: 'node' },
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '2' },
    runs: { type: 'string', default: '5' },
    pairs: { type: 'string', default: '10' },
    batch: { type: 'string' },
    seq: { type: 'string' },
    dtype: { type: 'string', default: 'f32,int8' },
    threads: { type: 'string', default: '1,2' },
  },
});

const HIDDEN = 768;
const list = (text, fallback) => (text ?? fallback).split(',').map((v) => v.trim()).filter(Boolean);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Deterministic ids (CLS … SEP per row), so every engine sees the same input. */
function inputIds(B, L) {
  const ids = new Int32Array(B * L);
  let s = 12345;
  for (let i = 0; i < ids.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    ids[i] = i % L === 0 ? 2 : i % L === L - 1 ? 3 : 5 + (s % 29000);
  }
  return ids;
}

// ---- children: one engine, one configuration ----

const engines = {
  async ours({ dtype, threads }) {
    const { AlbertModel } = await import(`${root}dist/index.js`);
    const t0 = performance.now();
    const model = await AlbertModel.load(fixture, { dtype, threads });
    const loadMs = performance.now() - t0;
    return {
      loadMs,
      info: `${model.info.kernels}${model.info.threads > 1 ? `×${model.info.threads}` : ''}${model.info.threadsNote ? ` (${model.info.threadsNote})` : ''}`,
      run: async (B, L) => {
        const input = { input_ids: { data: inputIds(B, L), dims: [B, L] } };
        return (await model.forward(input, { outputs: ['last_hidden_state'] })).last_hidden_state.data;
      },
      close: () => model.dispose(),
    };
  },
  async 'ort-web'({ dtype, threads }) {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = threads;
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(readFileSync(onnxFile(dtype)), { executionProviders: ['wasm'] });
    const loadMs = performance.now() - t0;
    return { loadMs, info: `wasm×${threads}`, run: ortRunner(ort, session), close: () => session.release() };
  },
  async 'ort-node'({ dtype, threads }) {
    const ort = await import('onnxruntime-node');
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(onnxFile(dtype), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    const loadMs = performance.now() - t0;
    return { loadMs, info: `cpu×${threads}`, run: ortRunner(ort, session), close: () => session.release() };
  },
};

const onnxFile = (dtype) => `${fixture}${dtype === 'int8' ? 'model_quantized.onnx' : 'model.onnx'}`;

function ortRunner(ort, session) {
  return async (B, L) => {
    const ids = BigInt64Array.from(inputIds(B, L), (v) => BigInt(v));
    const feeds = {
      input_ids: new ort.Tensor('int64', ids, [B, L]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(B * L).fill(1n), [B, L]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(B * L), [B, L]),
    };
    return (await session.run(feeds)).last_hidden_state.data;
  };
}

/** Peak resident memory of this process (VmHWM), in MiB. */
function peakRssMiB() {
  try {
    const kib = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1];
    return Number(kib) / 1024;
  } catch {
    return process.resourceUsage().maxRSS / 1024;
  }
}

/**
 * Two engines (a and b: engine, threads, batch, and a dtype of their own or the cell's) in one
 * process, their passes alternating (each goes first in every other pair, so neither always runs
 * right after the other): the median over pairs of a's time / b's.
 */
async function pairedChild({ dtype, L, pairs, a, b }) {
  const engine = async (side) => ({ ...(await engines[side.engine]({ dtype: side.dtype ?? dtype, threads: side.threads })), B: side.B });
  const [ea, eb] = [await engine(a), await engine(b)];
  const time = async (e) => {
    const t0 = performance.now();
    await e.run(e.B, L);
    return performance.now() - t0;
  };
  const warm = performance.now();
  do {
    await time(ea);
    await time(eb);
  } while (performance.now() - warm < 3000);
  const ratios = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      const ta = await time(ea);
      ratios.push(ta / (await time(eb)));
    } else {
      const tb = await time(eb);
      ratios.push((await time(ea)) / tb);
    }
  }
  await ea.close();
  await eb.close();
  return { ratio: median(ratios) };
}

async function child(spec) {
  const args = JSON.parse(spec);
  if (args.engine === 'paired') return exitWith(await pairedChild(args));
  const { engine, dtype, threads, B, L, runs, out } = args;
  const e = await engines[engine]({ dtype, threads });
  // Warm-up: the first call compiles and sizes buffers; wasm engines tier up over the next ones.
  let output = await e.run(B, L);
  const warm = performance.now();
  do output = await e.run(B, L);
  while (performance.now() - warm < 1500);
  const times = [];
  const start = performance.now();
  // Slow cells (batch 8 × 512 at one thread) stop at 3 runs once 20 s are spent.
  for (let i = 0; i < runs && (i < 3 || performance.now() - start < 20_000); i++) {
    const t0 = performance.now();
    output = await e.run(B, L);
    times.push(performance.now() - t0);
  }
  writeFileSync(out, new Uint8Array(output.buffer, output.byteOffset, output.byteLength));
  const result = { loadMs: e.loadMs, medianMs: median(times), runs: times.length, rssMiB: peakRssMiB(), info: e.info };
  await e.close();
  exitWith(result);
}

function exitWith(result) {
  console.log(JSON.stringify(result));
  // Thread pools (ours in Deno, onnxruntime-web's workers) must not hold the process open.
  if (globalThis.Deno) Deno.exit(0);
  process.exit(0);
}

// ---- parent: the matrix, the checks, the tables ----

const RUNTIMES = {
  node: () => [process.execPath],
  deno: () => [`${root}node_modules/.bin/deno`, 'run', '--allow-all', '--no-lock'],
};

function runChild(engine, cfg, dir, pair) {
  const out = `${dir}/${engine}-${cfg.key}.f32`;
  const spec = JSON.stringify({ engine, dtype: cfg.dtype, threads: cfg.threads, B: cfg.B, L: cfg.L, runs: Number(values.runs), pairs: Math.max(1, Number(values.pairs)), out, ...pair });
  const [cmd, ...args] = engine === 'ort-node' ? RUNTIMES.node() : RUNTIMES[values.runtime]();
  const text = execFileSync(cmd, [...args, fileURLToPath(import.meta.url), '--child', spec], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    maxBuffer: 1 << 20,
  });
  return { ...JSON.parse(text.trim().split('\n').pop()), out };
}

const readF32 = (path) => new Float32Array(readFileSync(path).buffer.slice(0));

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

/** The smallest cosine similarity over tokens (rows of HIDDEN). */
function minTokenCosine(a, b) {
  let worst = 1;
  for (let t = 0; t < a.length / HIDDEN; t++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = t * HIDDEN; i < (t + 1) * HIDDEN; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    worst = Math.min(worst, dot / Math.sqrt(na * nb));
  }
  return a.length === b.length ? worst : -1;
}

async function parent() {
  const quick = values.quick;
  const batches = list(values.batch, quick ? '1,8' : '1,8').map(Number);
  const seqs = list(values.seq, quick ? '128' : '16,128,512').map(Number);
  // Thread counts innermost: a shape's one- and two-thread runs follow each other, so the speedup
  // compares runs seconds apart rather than minutes.
  const configs = [];
  for (const dtype of list(values.dtype)) {
    for (const B of batches) {
      for (const L of seqs) {
        for (const threads of list(values.threads).map(Number)) configs.push({ dtype, threads, B, L, key: `${dtype}-t${threads}-b${B}-l${L}` });
      }
    }
  }
  const names = Object.keys(engines);
  const dir = mkdtempSync(`${tmpdir()}/albert-bench-`);
  const rounds = Number(values.rounds);
  const cells = new Map(configs.map((c) => [c.key, Object.fromEntries(names.map((n) => [n, []]))]));
  const checks = [];
  /**
   * Per dtype, each round's figure from alternating passes in one process (pairedChild): ours /
   * ort-web on one thread, the two-thread speedup, and batch 8's throughput over batch 1's; and our
   * int8 over onnxruntime-node's f32 (loaded into the same runtime as ours: Deno runs Node addons).
   */
  const paired = { web: { f32: [], int8: [] }, native: [], speedup: { f32: [], int8: [] }, batch: { f32: [], int8: [] } };
  const started = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const cfg of configs) {
      const results = {};
      for (const engine of names) {
        results[engine] = runChild(engine, cfg, dir);
        cells.get(cfg.key)[engine].push(results[engine]);
      }
      if (r === 0) {
        // Ours against the peers' reference: onnxruntime-node f32 for f32, our f32 for int8.
        const ours = readF32(results.ours.out);
        if (cfg.dtype === 'f32') {
          const diff = maxAbsDiff(ours, readF32(results['ort-node'].out));
          checks.push({ cfg, what: 'max |ours − ort-node f32|', value: diff, ok: diff <= 1e-3 });
          writeFileSync(`${dir}/ref-${cfg.threads}-${cfg.B}-${cfg.L}.f32`, readFileSync(results.ours.out));
        } else {
          const ref = configs.find((c) => c.dtype === 'f32' && c.threads === cfg.threads && c.B === cfg.B && c.L === cfg.L);
          if (ref) {
            const cos = minTokenCosine(ours, readF32(`${dir}/ref-${cfg.threads}-${cfg.B}-${cfg.L}.f32`));
            const peer = minTokenCosine(readF32(results['ort-web'].out), readF32(`${dir}/ref-${cfg.threads}-${cfg.B}-${cfg.L}.f32`));
            checks.push({ cfg, what: 'min token cosine, ours int8 vs ours f32', value: cos, ok: cos >= 0.9995, peer });
          }
        }
      }
      process.stderr.write(`round ${r + 1}/${rounds} ${cfg.key}: ${names.map((n) => `${n} ${results[n].medianMs.toFixed(1)} ms`).join(', ')}\n`);
      if (cfg.L === 128) {
        const ours = { engine: 'ours', threads: 1, B: 1 };
        const hasOneThreadB1 = configs.some((c) => c.key === `${cfg.dtype}-t1-b1-l128`);
        const note = (what) => process.stderr.write(`round ${r + 1}/${rounds} ${cfg.dtype} L128, alternating in one process: ${what}\n`);
        if (cfg.B === 1 && cfg.threads === 1) {
          const { ratio } = runChild('paired', cfg, dir, { a: ours, b: { engine: 'ort-web', threads: 1, B: 1 } });
          paired.web[cfg.dtype].push(ratio);
          note(`ours / ort-web ${ratio.toFixed(2)} (one thread, B1)`);
          if (cfg.dtype === 'int8') {
            const native = runChild('paired', cfg, dir, { a: ours, b: { engine: 'ort-node', threads: 1, B: 1, dtype: 'f32' } });
            paired.native.push(native.ratio);
            note(`ours int8 / ort-node f32 ${native.ratio.toFixed(2)} (one thread, B1)`);
          }
        } else if (cfg.B === 1 && cfg.threads === 2 && hasOneThreadB1) {
          const { ratio } = runChild('paired', cfg, dir, { a: ours, b: { engine: 'ours', threads: 2, B: 1 } });
          paired.speedup[cfg.dtype].push(ratio);
          note(`2 threads ${ratio.toFixed(2)}× 1 thread (B1)`);
        } else if (cfg.B === 8 && cfg.threads === 1 && hasOneThreadB1) {
          const { ratio } = runChild('paired', cfg, dir, { a: ours, b: { engine: 'ours', threads: 1, B: 8 } });
          paired.batch[cfg.dtype].push(8 * ratio);
          note(`batch 8 ${(8 * ratio).toFixed(2)}× batch 1's tokens/s (one thread)`);
        }
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });

  const summary = (cfg, engine) => {
    const rs = cells.get(cfg.key)[engine];
    const ms = rs.map((x) => x.medianMs);
    return { ms: Math.min(...ms), medianMs: median(ms), loadMs: median(rs.map((x) => x.loadMs)), rss: median(rs.map((x) => x.rssMiB)), info: rs[0].info };
  };
  /** Median over rounds of ours / peer within the round, for a quantity of the children's results. */
  const ratio = (cfg, peer, key = 'medianMs') => {
    const [o, p] = [cells.get(cfg.key).ours, cells.get(cfg.key)[peer]];
    return median(o.map((x, r) => x[key] / p[r][key]));
  };
  const fmt = (s) => `${s.ms.toFixed(1)} (${s.medianMs.toFixed(1)})`;
  const ours0 = summary(configs[0], 'ours');
  const ortVersion = JSON.parse(readFileSync(`${root}node_modules/onnxruntime-web/package.json`, 'utf8')).version;
  const runtimeVersion = values.runtime === 'deno' ? execFileSync(RUNTIMES.deno()[0], ['--version'], { encoding: 'utf8' }).split('\n').slice(0, 2).join(', ') : `Node ${process.version}`;
  console.log(`\n${new Date().toISOString().slice(0, 10)}, ${cpus()[0].model} (${cpus().length} cores), ours and onnxruntime-web ${ortVersion} in ${runtimeVersion} (ours: ${ours0.info}); onnxruntime-node ${ortVersion} in Node ${process.version}; ${rounds} rounds, ${(performance.now() - started) / 60000 < 1 ? '<1' : ((performance.now() - started) / 60000).toFixed(0)} min\n`);
  console.log('Latency: best round (median round), ms. Ratios: median over rounds of ours / peer in the round.\n');
  console.log('| dtype | threads | batch × seq | ours | ort-web | ort-node | ours / ort-web | ours / ort-node | ours tokens/s | load ours / ort-web (ms) | peak RSS ours / ort-web / ort-node (MiB) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const cfg of configs) {
    const [o, w, n] = names.map((e) => summary(cfg, e));
    console.log(
      `| ${cfg.dtype} | ${cfg.threads} | ${cfg.B} × ${cfg.L} | ${fmt(o)} | ${fmt(w)} | ${fmt(n)} | ${ratio(cfg, 'ort-web').toFixed(2)} | ${ratio(cfg, 'ort-node').toFixed(2)} | ${((cfg.B * cfg.L * 1000) / o.ms).toFixed(0)} | ${o.loadMs.toFixed(0)} / ${w.loadMs.toFixed(0)} | ${o.rss.toFixed(0)} / ${w.rss.toFixed(0)} / ${n.rss.toFixed(0)} |`,
    );
  }

  // The issue's goals, where the matrix has the cells they need.
  const cell = (dtype, threads, B, L) => configs.find((c) => c.dtype === dtype && c.threads === threads && c.B === B && c.L === L);
  const goals = [];
  const goal = (text, ok, detail) => goals.push(`| ${text} | ${detail} | ${ok ? 'met' : 'not met'} |`);
  /** A paired figure (pairedChild): the median over rounds, and each round's. */
  const pairs = (xs, unit = '') => `${median(xs).toFixed(2)}${unit} alternating in one process (median of the rounds' ${xs.map((x) => x.toFixed(2)).join(', ')})`;
  const f1 = cell('f32', 1, 1, 128);
  if (f1) {
    const [o, w] = [summary(f1, 'ours'), summary(f1, 'ort-web')];
    const r = median(paired.web.f32);
    goal('f32, 1 thread, B1 L128 ≤ 0.60 × ort-web f32', r <= 0.6, `${pairs(paired.web.f32)}; the cells: ${fmt(o)} / ${fmt(w)} ms, ${ratio(f1, 'ort-web').toFixed(2)}`);
    const load = ratio(f1, 'ort-web', 'loadMs');
    goal('load ≤ 0.1 × ort-web session creation', load <= 0.1, `${o.loadMs.toFixed(0)} / ${w.loadMs.toFixed(0)} ms: ${load.toFixed(3)}`);
    const rss = ratio(f1, 'ort-web', 'rssMiB');
    goal('peak RSS ≤ 0.35 × ort-web', rss <= 0.35, `${o.rss.toFixed(0)} / ${w.rss.toFixed(0)} MiB: ${rss.toFixed(2)}`);
  }
  const i1 = cell('int8', 1, 1, 128);
  if (i1) {
    const [o, w] = [summary(i1, 'ours'), summary(i1, 'ort-web')];
    const r = median(paired.web.int8);
    goal('int8, 1 thread, B1 L128 ≤ 0.45 × ort-web int8', r <= 0.45, `${pairs(paired.web.int8)}; the cells: ${fmt(o)} / ${fmt(w)} ms, ${ratio(i1, 'ort-web').toFixed(2)} (${o.info})`);
    // The cells: ort-node f32 ran in the f32 cell of the same round, a minute or so earlier, best against best.
    const n = f1 && summary(f1, 'ort-node');
    const bestRounds = n ? `; the cells: ${o.ms.toFixed(0)} / ${n.ms.toFixed(0)} ms (best rounds), ${(o.ms / n.ms).toFixed(2)}` : '';
    goal('int8, 1 thread, B1 L128 ≤ 1.25 × ort-node f32', median(paired.native) <= 1.25, `${pairs(paired.native)}${bestRounds}`);
  }
  for (const dtype of ['f32', 'int8']) {
    const [one, two] = [cell(dtype, 1, 1, 128), cell(dtype, 2, 1, 128)];
    if (one && two) {
      const speedup = summary(one, 'ours').ms / summary(two, 'ours').ms;
      const [t1, t2] = [cells.get(one.key).ours, cells.get(two.key).ours];
      const perRound = median(t1.map((x, r) => x.medianMs / t2[r].medianMs));
      goal(
        `${dtype}: 2 threads ≥ 1.8 × 1-thread speed, B1 L128`,
        median(paired.speedup[dtype]) >= 1.8,
        `${pairs(paired.speedup[dtype], '×')}; the cells: ${speedup.toFixed(2)}× best rounds, ${perRound.toFixed(2)}× the rounds' own (${summary(two, 'ours').info})`,
      );
    }
    const [b1, b8] = [cell(dtype, 1, 1, 128), cell(dtype, 1, 8, 128)];
    if (b1 && b8) {
      const gain = summary(b1, 'ours').ms / (summary(b8, 'ours').ms / 8);
      goal(
        `${dtype}: batch 8 × 128 throughput ≥ batch 1 (1 thread)`,
        median(paired.batch[dtype]) >= 1,
        `${pairs(paired.batch[dtype], '×')}; the cells: ${gain.toFixed(2)}× (best rounds)`,
      );
    }
  }
  if (goals.length) console.log('\n| goal | measured (ours / peer) | |\n| --- | --- | --- |');
  goals.forEach((g) => console.log(g));

  console.log('\n| output check | configuration | value | |\n| --- | --- | --- | --- |');
  for (const c of checks) {
    const peer = c.peer === undefined ? '' : ` (ort-web int8: ${c.peer.toFixed(5)})`;
    console.log(`| ${c.what} | ${c.cfg.key} | ${c.what.startsWith('max') ? c.value.toExponential(1) : c.value.toFixed(5)}${peer} | ${c.ok ? 'ok' : 'FAILED'} |`);
  }
  if (checks.some((c) => !c.ok)) {
    console.error('outputs disagree: see the output checks');
    process.exitCode = 1;
  }
}

if (values.child) await child(values.child);
else await parent();
