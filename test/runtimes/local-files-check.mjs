// Local checkpoints as each runtime reads them (Deno through its own file API, Node and Bun through
// node:fs): fixtures/tiny from a path, a path with a trailing slash and a file: URL must give the
// bits it gives from bytes in memory, and missing or cut files must fail with the same errors.
// Usage: <runtime> local-files-check.mjs <fixtures/tiny> <scratch directory>; prints JSON.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { AlbertModel } from 'albert-wasm';

const [tiny, scratch] = globalThis.Deno ? Deno.args : process.argv.slice(2);
const input = { input_ids: { data: new Int32Array([2, 10, 11, 12, 3]), dims: [1, 5] } };

async function hidden(source) {
  const model = await AlbertModel.load(source);
  try {
    return Array.from((await model.forward(input, { outputs: ['last_hidden_state'] })).last_hidden_state.data);
  } finally {
    model.dispose();
  }
}

async function failure(source) {
  try {
    await AlbertModel.load(source);
    return 'loaded';
  } catch (error) {
    return `${error.code}: ${error.message.replaceAll(scratch, '<scratch>')}`;
  }
}

const weights = readFileSync(`${tiny}/model.safetensors`);
const config = readFileSync(`${tiny}/config.json`);
const directory = (name, files) => {
  const path = `${scratch}/${name}`;
  mkdirSync(path, { recursive: true });
  for (const [file, bytes] of Object.entries(files)) writeFileSync(`${path}/${file}`, bytes);
  return path;
};
const whole = directory('whole', { 'config.json': config, 'model.safetensors': weights });

const fromBytes = await hidden({ 'config.json': config, 'model.safetensors': weights });
const sameAsBytes = async (source) => JSON.stringify(await hidden(source)) === JSON.stringify(fromBytes);
console.log(JSON.stringify({
  runtime: globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node',
  path: await sameAsBytes(whole),
  pathWithSlash: await sameAsBytes(`${whole}/`),
  fileUrl: await sameAsBytes(pathToFileURL(`${whole}/`)),
  missingDirectory: await failure(pathToFileURL(`${scratch}/absent/`)),
  missingWeights: await failure(directory('no-weights', { 'config.json': config })),
  cutWeights: await failure(directory('cut', { 'config.json': config, 'model.safetensors': weights.subarray(0, weights.length - 10) })),
}));
