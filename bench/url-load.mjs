// Peak RSS and time of loading fixtures/base from a URL (a loopback server in this process), f32 and
// int8: what a download costs in memory on top of the model. Each load runs in its own process.
//
//   npm run build && node bench/url-load.mjs [dist/index.js of the build to measure] [runs]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const [library = fileURLToPath(new URL('../dist/index.js', import.meta.url)), runs = '3', dtype] = process.argv.slice(2);

if (!dtype) {
  for (const each of ['f32', 'int8']) {
    for (let run = 0; run < Number(runs); run++) {
      process.stdout.write(execFileSync(process.execPath, [fileURLToPath(import.meta.url), library, runs, each], { encoding: 'utf8' }));
    }
  }
} else {
  const dir = fileURLToPath(new URL('../../shared/fixtures/base/', import.meta.url));
  const files = { 'config.json': readFileSync(`${dir}config.json`), 'model.safetensors': readFileSync(`${dir}model.safetensors`) };
  const server = createServer((req, res) => {
    const body = files[req.url.split('/').at(-1)];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { AlbertModel } = await import(library);
  const before = process.memoryUsage().rss;
  const started = performance.now();
  const model = await AlbertModel.load(`http://127.0.0.1:${server.address().port}/base`, { dtype });
  const ms = performance.now() - started;
  const peak = process.resourceUsage().maxRSS * 1024;
  model.dispose();
  server.close();
  const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);
  console.log(`${dtype}: load ${ms.toFixed(0)} ms, peak RSS ${mib(peak)} MiB (${mib(before)} MiB before the load, the served files included)`);
}
