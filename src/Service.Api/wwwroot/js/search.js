// Rerank and search panel: POST /v1/search on an index from GET /v1/search/indexes, optionally against exhaustive.
import { clearProblem, getJson, postJson, showProblem } from './api.js';

const form = document.getElementById('search-form');
const indexSelect = document.getElementById('search-index');
const method = document.getElementById('search-method');
const budget = document.getElementById('search-budget');
const budgetValue = document.getElementById('search-budget-value');
const compare = document.getElementById('search-compare');
const problem = document.getElementById('search-problem');
const summary = document.getElementById('search-summary');
const timings = document.getElementById('search-timings');
const results = document.getElementById('search-results');
let indexes = [];

export async function initSearch() {
  budget.addEventListener('input', () => { budgetValue.textContent = budget.value; });
  method.addEventListener('change', () => { budget.disabled = method.value === 'exhaustive'; });
  indexSelect.addEventListener('change', limitBudget);
  form.addEventListener('submit', event => {
    event.preventDefault();
    search();
  });
  try {
    indexes = (await getJson('/v1/search/indexes')).data;
    indexSelect.replaceChildren(...indexes.map(index => {
      const option = document.createElement('option');
      option.value = index.name;
      option.textContent = `${index.name} (${index.n} items, ${index.status})`;
      option.disabled = index.status !== 'ready';
      return option;
    }));
    const ready = indexes.find(index => index.status === 'ready');
    if (ready) indexSelect.value = ready.name;
    else summary.textContent = indexes.length === 0 ? 'No index is served yet.' : 'No index is ready yet.';
    limitBudget();
  } catch (error) {
    showProblem(problem, error);
  }
}

function limitBudget() {
  const index = indexes.find(i => i.name === indexSelect.value);
  if (!index) return;
  budget.max = String(Math.max(10, Math.min(1000, index.n)));
  budgetValue.textContent = budget.value;
}

async function run(methodName) {
  const started = performance.now();
  const { body } = await postJson('/v1/search', {
    index: indexSelect.value,
    query: document.getElementById('search-query').value,
    k: Number(document.getElementById('search-k').value),
    budget: Number(budget.value),
    method: methodName,
  });
  return { ...body, wallMs: performance.now() - started };
}

async function search() {
  clearProblem(problem);
  summary.textContent = 'Searching…';
  results.replaceChildren();
  timings.hidden = true;
  try {
    const main = await run(method.value);
    const exact = compare.checked && method.value !== 'exhaustive' ? await run('exhaustive') : null;
    draw(main, exact);
  } catch (error) {
    summary.textContent = '';
    showProblem(problem, error);
  }
}

function draw(main, exact) {
  const exactIds = new Set(exact?.results.map(r => r.id) ?? []);
  const lines = [`${main.results.length} results · `];
  const calls = document.createElement('span');
  calls.className = 'ce-calls';
  calls.textContent = `ce_calls ${main.ce_calls}`;
  summary.replaceChildren(lines[0], calls, ` · ${main.wallMs.toFixed(0)} ms in the browser`);
  if (exact) {
    const overlap = main.results.filter(r => exactIds.has(r.id)).length;
    const line = document.createElement('p');
    line.className = 'overlap';
    line.textContent = `Overlap with exhaustive: ${overlap} of ${exact.results.length} (exhaustive spent ce_calls ${exact.ce_calls}).`;
    summary.append(line);
  }
  drawTimings(main.timings);
  results.replaceChildren(...main.results.map(hit => {
    const li = document.createElement('li');
    li.className = 'result';
    if (exact && exactIds.has(hit.id)) li.classList.add('in-exact');
    const id = document.createElement('code');
    id.className = 'result-id';
    id.textContent = hit.id;
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = hit.score.toFixed(3);
    const text = document.createElement('span');
    text.className = 'result-text';
    text.textContent = hit.text;
    li.append(score, id, text);
    if (exact) {
      const mark = document.createElement('span');
      mark.className = 'badge';
      mark.textContent = exactIds.has(hit.id) ? 'in exhaustive top-k' : 'not in exhaustive top-k';
      li.append(mark);
    }
    return li;
  }));
}

// One stacked bar: cross-encoder calls on anchors, the approximation, the re-rank.
function drawTimings(t) {
  const parts = [['anchors (ce)', t.ce_ms, 'stage-ce'], ['approximation', t.approx_ms, 'stage-approx'], ['re-rank (ce)', t.rerank_ms, 'stage-rerank']];
  const total = parts.reduce((sum, p) => sum + p[1], 0) || 1;
  const bar = document.createElement('div');
  bar.className = 'bar';
  bar.setAttribute('role', 'img');
  bar.setAttribute('aria-label', parts.map(([name, ms]) => `${name} ${ms.toFixed(1)} ms`).join(', '));
  const legend = document.createElement('ul');
  legend.className = 'legend';
  for (const [name, ms, css] of parts) {
    const segment = document.createElement('span');
    segment.className = `segment ${css}`;
    segment.style.width = `${(100 * ms) / total}%`;
    segment.title = `${name}: ${ms.toFixed(1)} ms`;
    bar.append(segment);
    const item = document.createElement('li');
    item.innerHTML = `<span class="swatch ${css}"></span>`;
    item.append(`${name} ${ms.toFixed(1)} ms`);
    legend.append(item);
  }
  timings.replaceChildren(bar, legend);
  timings.hidden = false;
}
