// The checks that every runtime runs, in plain JavaScript that each of them loads as it is. The probe
// gets the library and a model source and answers with JSON; runtimes.test.ts compares the answers
// with the references, in one place.

let wasmMemoryPeak = 0;
// The library does not expose how large its linear memory grew; every growth passes through here.
const grow = WebAssembly.Memory.prototype.grow;
WebAssembly.Memory.prototype.grow = function (delta) {
  const previousPages = grow.call(this, delta);
  wasmMemoryPeak = Math.max(wasmMemoryPeak, this.buffer.byteLength);
  return previousPages;
};

/**
 * Imports the library, loads the model, runs every case of the request and returns the outputs as
 * plain arrays, with the milliseconds from the import to the first result.
 * @param {() => Promise<typeof import('albert-wasm')>} importLibrary
 * @param {import('albert-wasm').ModelSource} source
 * @param {{ cases: { name: string, inputs: object }[], outputs: string[] }} request
 */
export async function probe(importLibrary, source, request) {
  wasmMemoryPeak = 0;
  const start = performance.now();
  const { AlbertModel } = await importLibrary();
  const model = await AlbertModel.load(source);
  const outputs = {};
  let firstResultMs;
  for (const { name, inputs } of request.cases) {
    const result = await model.forward(inputs, { outputs: request.outputs });
    firstResultMs ??= performance.now() - start;
    outputs[name] = Object.fromEntries(Object.entries(result).map(([output, t]) => [output, { dims: t.dims, data: Array.from(t.data) }]));
  }
  return { outputs, firstResultMs, wasmMemoryBytes: wasmMemoryPeak, weightBytes: model.info.weightBytes };
}
