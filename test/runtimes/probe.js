// The checks that every runtime runs, in plain JavaScript that each of them loads as it is. Its
// entry point (probe-cli.mjs, probe-worker.mjs, probe.html) reads the files a request needs, the
// probe runs the library on them and answers with JSON; runtimes.test.ts compares the answers with
// the references, in one place.

let wasmMemoryPeak = 0;
// The library does not expose how large its linear memory grew; every growth passes through here.
const grow = WebAssembly.Memory.prototype.grow;
WebAssembly.Memory.prototype.grow = function (delta) {
  const previousPages = grow.call(this, delta);
  wasmMemoryPeak = Math.max(wasmMemoryPeak, this.buffer.byteLength);
  return previousPages;
};

/**
 * @param {() => Promise<typeof import('albert-wasm')>} importLibrary
 * @param {{ model?: import('albert-wasm').ModelSource, spiece?: Uint8Array }} files what the request needs
 * @param {{ model?: { cases: { name: string, inputs: object }[], outputs: string[], loads?: object[] },
 *           tokenize?: { text: string, addSpecialTokens: boolean }[] }} request
 *   `model`: load the model and run the cases, once per entry of `loads` (AlbertModel.load's options,
 *   e.g. { threads: 2 } or { dtype: 'int8' }; default one load with none), each model disposed of
 *   before the next; `tokenize`: encode the texts with `files.spiece`.
 */
export async function probe(importLibrary, files, request) {
  wasmMemoryPeak = 0;
  const start = performance.now();
  const { AlbertModel, AlbertTokenizer } = await importLibrary();
  const answer = {};
  if (request.model) {
    answer.runs = [];
    for (const options of request.model.loads ?? [{}]) {
      wasmMemoryPeak = 0;
      const model = await AlbertModel.load(files.model, options);
      const outputs = {};
      try {
        for (const { name, inputs } of request.model.cases) {
          const result = await model.forward(inputs, { outputs: request.model.outputs });
          // From the import to the first result: this runtime's cold start, for bench/RESULTS.md.
          answer.firstResultMs ??= performance.now() - start;
          outputs[name] = Object.fromEntries(Object.entries(result).map(([output, t]) => [output, { dims: t.dims, data: Array.from(t.data) }]));
        }
      } finally {
        model.dispose();
      }
      const { kernels, threads, threadsNote, dtype, weightBytes } = model.info;
      answer.runs.push({ options, info: { kernels, threads, threadsNote, dtype, weightBytes }, outputs, wasmMemoryBytes: wasmMemoryPeak });
    }
    // The first load's, as the single-load checks read them.
    answer.outputs = answer.runs[0].outputs;
    answer.wasmMemoryBytes = answer.runs[0].wasmMemoryBytes;
    answer.kernels = answer.runs[0].info.kernels;
  }
  if (request.tokenize) {
    const tokenizer = AlbertTokenizer.fromSentencePiece(files.spiece);
    answer.ids = request.tokenize.map(({ text, addSpecialTokens }) => tokenizer.encode(text, { addSpecialTokens }).input_ids);
  }
  return answer;
}
