// The probe in a runtime started as a command (Node, Deno, Bun): the request comes on stdin, the
// model's files are read from disk into memory, the answer goes to stdout as JSON.
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { text } from 'node:stream/consumers';
import { probe } from './probe.js';

const request = JSON.parse(await text(process.stdin));

const files = {};
for (const name of ['config.json', 'model.safetensors']) files[name] = await readFile(`${request.fixtureDir}/${name}`);
const answer = await probe(() => import('albert-wasm'), files, request);
process.stdout.write(JSON.stringify({ runtime: runtimeName(), ...answer }));

function runtimeName() {
  if (globalThis.Deno) return `deno ${globalThis.Deno.version.deno}`;
  if (process.versions.bun) return `bun ${process.versions.bun}`;
  return `node ${process.versions.node}`;
}
