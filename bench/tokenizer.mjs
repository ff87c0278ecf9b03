// Encoding throughput of our AlbertTokenizer next to @huggingface/tokenizers (Tokenizers.js, the
// pure-JS tokenizers of transformers.js) on the same texts, in the same process.
//
//   node bench/tokenizer.mjs [--runs 7]
//
// Both tokenizers load albert-base-v2: ours from spiece.model, the peer from the tokenizer.json that
// test/tokenizer/generate_vectors.py derives from it (transformers' AlbertConverter layout). Texts are
// the lines of the reference corpus (test/tokenizer/vectors.json.gz). Throughput is UTF-8 megabytes
// of input per second, the median of several runs; each run encodes every line with special tokens.
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Tokenizer } from '@huggingface/tokenizers';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 7;

const dir = mkdtempSync(join(tmpdir(), 'albert-bench-'));
const bundle = join(dir, 'tokenizer.mjs');
await build({
  entryPoints: [join(root, 'src/tokenizer/index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  outfile: bundle,
  logLevel: 'warning',
});
const { AlbertTokenizer } = await import(pathToFileURL(bundle).href);
rmSync(dir, { recursive: true });

const spiece = new Uint8Array(readFileSync(join(root, '../shared/models/albert-base-v2/spiece.model')));
const tokenizerJson = JSON.parse(gunzipSync(readFileSync(join(root, 'test/tokenizer/albert-base-v2.tokenizer.json.gz'))).toString());
const lines = JSON.parse(gunzipSync(readFileSync(join(root, 'test/tokenizer/vectors.json.gz'))).toString()).lines;

const timeLoad = (load) => {
  const started = performance.now();
  const tokenizer = load();
  return [tokenizer, performance.now() - started];
};
const [ours, oursLoadMs] = timeLoad(() => AlbertTokenizer.fromSentencePiece(spiece));
const [peer, peerLoadMs] = timeLoad(() => new Tokenizer(tokenizerJson, { do_lower_case: true, remove_space: true, keep_accents: false }));

const implementations = [
  ['albert-wasm AlbertTokenizer', (text) => ours.encode(text).input_ids],
  ['@huggingface/tokenizers 0.2', (text) => peer.encode(text).ids],
];

const byCategory = (...categories) => lines.filter((l) => categories.includes(l.category)).map((l) => l.text);
const prose = byCategory('prose');
const workloads = [
  ['English prose, one line per call', prose],
  ['whole corpus, one line per call', lines.map((l) => l.text)],
  [`English prose, one ${Math.round(prose.join(' ').length / 1000)} kB text`, [prose.join(' ')]],
];

const utf8Bytes = (texts) => texts.reduce((n, t) => n + new TextEncoder().encode(t).length, 0);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

console.log(`node ${process.version}, ${runs} runs per cell, median shown`);
console.log(`load: ours ${oursLoadMs.toFixed(0)} ms (spiece.model), peer ${peerLoadMs.toFixed(0)} ms (tokenizer.json, already parsed)\n`);
const rows = [];
for (const [workload, texts] of workloads) {
  const megabytes = utf8Bytes(texts) / 1e6;
  const rates = implementations.map(([, encode]) => {
    for (const text of texts.slice(0, 200)) encode(text); // warm-up
    const samples = [];
    for (let r = 0; r < runs; r++) {
      const started = performance.now();
      for (const text of texts) encode(text);
      samples.push(megabytes / ((performance.now() - started) / 1000));
    }
    return median(samples);
  });
  const agree = texts.filter((t) => sameIds(implementations[0][1](t), implementations[1][1](t))).length;
  rows.push({ workload, megabytes, rates, agree: `${agree}/${texts.length}` });
}

const header = ['workload', 'MB', ...implementations.map(([name]) => `${name} MB/s`), 'ours / peer', 'same ids'];
const table = rows.map((r) => [
  r.workload,
  r.megabytes.toFixed(2),
  ...r.rates.map((x) => x.toFixed(2)),
  `${(r.rates[0] / r.rates[1]).toFixed(2)}x`,
  r.agree,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const format = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(format(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(format(row));
console.log('\n"same ids": lines where both give identical ids; ours match Python AlbertTokenizer on every line (test/tokenizer).');

function sameIds(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
