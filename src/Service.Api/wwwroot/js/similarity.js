// Similarity panel: embeddings of the listed sentences, drawn as a cosine heatmap.
import { clearProblem, fillSelect, getJson, postJson, showProblem } from './api.js';

const form = document.getElementById('similarity-form');
const modelSelect = document.getElementById('similarity-model');
const problem = document.getElementById('similarity-problem');
const readout = document.getElementById('similarity-readout');
const heatmap = document.getElementById('similarity-heatmap');

export async function initSimilarity() {
  form.addEventListener('submit', event => {
    event.preventDefault();
    compare();
  });
  try {
    const models = await getJson('/v1/models');
    const names = models.data.filter(m => m.kind === 'embedding').map(m => m.name);
    fillSelect(modelSelect, names, names[0]);
  } catch (error) {
    showProblem(problem, error);
  }
}

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

async function compare() {
  clearProblem(problem);
  const sentences = document.getElementById('similarity-sentences').value.split('\n').map(s => s.trim()).filter(s => s.length > 0);
  try {
    const { body } = await postJson('/v1/embeddings', { input: sentences, model: modelSelect.value || undefined });
    const vectors = body.data.sort((a, b) => a.index - b.index).map(d => d.embedding);
    draw(sentences, vectors.map(a => vectors.map(b => cosine(a, b))), body.model);
  } catch (error) {
    heatmap.replaceChildren();
    readout.textContent = '';
    showProblem(problem, error);
  }
}

// Cosine 1 is the darkest blue; 0 and below are white.
function shade(value) {
  const t = Math.max(0, Math.min(1, value));
  return `rgb(${Math.round(255 - 205 * t)}, ${Math.round(255 - 155 * t)}, ${Math.round(255 - 40 * t)})`;
}

function draw(sentences, matrix, model) {
  const n = sentences.length;
  const table = document.createElement('table');
  table.className = 'heatmap-table';
  const caption = document.createElement('caption');
  caption.textContent = `Cosine similarity (${model}), ${n} × ${n}`;
  const head = document.createElement('tr');
  head.append(document.createElement('th'));
  sentences.forEach((_, j) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = String(j + 1);
    th.title = sentences[j];
    head.append(th);
  });
  table.append(caption, head);
  matrix.forEach((row, i) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = `${i + 1}. ${sentences[i]}`;
    tr.append(th);
    row.forEach((value, j) => {
      const td = document.createElement('td');
      td.className = 'cell';
      td.tabIndex = 0;
      td.style.background = shade(value);
      td.style.color = value > 0.6 ? '#fff' : '#111';
      td.textContent = value.toFixed(2);
      td.title = `${value.toFixed(4)}: “${sentences[i]}” · “${sentences[j]}”`;
      td.dataset.value = value.toFixed(4);
      const show = () => { readout.textContent = `cos(${i + 1}, ${j + 1}) = ${value.toFixed(4)}: “${sentences[i]}” · “${sentences[j]}”`; };
      td.addEventListener('mouseenter', show);
      td.addEventListener('focus', show);
      tr.append(td);
    });
    table.append(tr);
  });
  heatmap.replaceChildren(table);
  readout.textContent = 'Hover or focus a cell for its value.';
}
