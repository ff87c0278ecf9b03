import { pipeline } from 'albert-wasm';

const params = new URLSearchParams(location.search);
const model = params.get('model') ?? 'albert/albert-base-v2';
const $ = (id) => document.getElementById(id);

function showStatus(message, isError = false) {
  $('status').textContent = message;
  $('status').className = isError ? 'error' : '';
}

const megabytes = (bytes) => (bytes / 1e6).toFixed(1);

const unmasker = await pipeline('fill-mask', model, {
  ...(params.has('wasm') && { wasm: params.get('wasm') }),
  onProgress: ({ file, loaded, total }) => showStatus(`Loading ${file}: ${megabytes(loaded)}${total ? ` of ${megabytes(total)}` : ''} MB`),
}).catch((error) => {
  showStatus(`Could not load ${model}: ${error.message}`, true);
  throw error;
});

async function predict() {
  const text = $('text').value;
  try {
    const predictions = await unmasker(text, { top_k: 5 });
    // Several [MASK]s give a list per mask: show the first.
    const first = Array.isArray(predictions[0]) ? predictions[0] : predictions;
    $('predictions').replaceChildren(
      ...first.map(({ token, token_str, score }) => {
        const item = Object.assign(document.createElement('li'), { title: `token ${token}` });
        Object.assign(item.dataset, { token, score });
        const word = Object.assign(document.createElement('span'), { textContent: token_str });
        const bar = Object.assign(document.createElement('div'), { className: 'bar' });
        bar.style.width = `${Math.max(score / first[0].score, 0.01) * 100}%`;
        const value = Object.assign(document.createElement('span'), { className: 'score', textContent: `${(score * 100).toPrecision(3)}%` });
        item.append(word, bar, value);
        return item;
      }),
    );
    showStatus(`${model}: top ${first.length} for the first [MASK] of “${text}”`);
  } catch (error) {
    $('predictions').replaceChildren();
    showStatus(error.message, true);
  }
}

$('form').addEventListener('submit', (event) => {
  event.preventDefault();
  predict();
});
$('predict').disabled = false;
predict();
