// The probe in a runtime started as a command (Node, Deno, Bun): the request comes on stdin, the
// files it names are read from disk into memory (or with `model.url` the library downloads the
// model), the answer goes to stdout as JSON.
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { text } from 'node:stream/consumers';
import { probe } from './probe.js';

const request = JSON.parse(await text(process.stdin));
const files = {};
if (request.model?.url) {
  files.model = request.model.url;
} else if (request.model) {
  files.model = {};
  for (const name of ['config.json', 'model.safetensors']) files.model[name] = await readFile(`${request.model.files}/${name}`);
}
if (request.tokenize) files.spiece = await readFile(request.spiece);

const answer = await probe(() => import('albert-wasm'), files, request);
process.stdout.write(JSON.stringify({ runtime: runtimeName(), ...answer }));

function runtimeName() {
  if (globalThis.Deno) return `deno ${globalThis.Deno.version.deno}`;
  if (process.versions.bun) return `bun ${process.versions.bun}`;
  return `node ${process.versions.node}`;
}
