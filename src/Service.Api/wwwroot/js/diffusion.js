// Diffusion panel: a sampling run streamed step by step (σ², x̂₀ previews), one variance or two side by side.
import { fillSelect, getJson, showProblem } from './api.js';
import { readEvents } from './sse.js';

const form = document.getElementById('diffusion-form');
const modelSelect = document.getElementById('diffusion-model');
const steps = document.getElementById('diffusion-steps');
const side = document.getElementById('diffusion-side');
const second = document.getElementById('diffusion-second');
const runs = document.getElementById('diffusion-runs');
let models = [];

export async function initDiffusion() {
  modelSelect.addEventListener('change', describeModel);
  side.addEventListener('change', () => { second.hidden = !side.checked; });
  form.addEventListener('submit', event => {
    event.preventDefault();
    sample();
  });
  try {
    models = await getJson('/v1/diffusion/models');
    fillSelect(modelSelect, models.map(m => m.name), models.find(m => m.image_shape)?.name);
    describeModel();
  } catch (error) {
    const box = problemBox();
    runs.replaceChildren(box);
    showProblem(box, error);
  }
}

function describeModel() {
  const model = models.find(m => m.name === modelSelect.value);
  if (!model) return;
  if (model.steps > 0) steps.max = String(model.steps);
  fillSelect(document.getElementById('diffusion-trajectory'), model.trajectories, 'even');
  fillSelect(document.getElementById('diffusion-process'), model.processes, 'ddpm');
  const variances = model.variances.length > 0 ? model.variances : ['analytic'];
  fillSelect(document.getElementById('diffusion-variance'), variances, 'analytic');
  fillSelect(document.getElementById('diffusion-variance-b'), variances, 'fixed-small');
}

function problemBox() {
  const box = document.createElement('div');
  box.className = 'problem';
  box.setAttribute('role', 'alert');
  box.hidden = true;
  return box;
}

function sample() {
  const variances = [document.getElementById('diffusion-variance').value];
  if (side.checked) variances.push(document.getElementById('diffusion-variance-b').value);
  runs.classList.toggle('two', variances.length === 2);
  runs.replaceChildren();
  return Promise.all(variances.map(variance => stream(variance)));
}

async function stream(variance) {
  const model = models.find(m => m.name === modelSelect.value);
  const query = new URLSearchParams({
    model: modelSelect.value,
    steps: steps.value,
    count: document.getElementById('diffusion-count').value,
    seed: document.getElementById('diffusion-seed').value,
    trajectory: document.getElementById('diffusion-trajectory').value,
    process: document.getElementById('diffusion-process').value,
    variance,
    preview_every: '1',
  });
  const run = document.createElement('article');
  run.className = 'run';
  run.dataset.variance = variance;
  const title = document.createElement('h3');
  title.textContent = `${modelSelect.value} · ${variance} · K = ${steps.value}`;
  const box = problemBox();
  const status = document.createElement('p');
  status.className = 'progress-count';
  status.setAttribute('aria-live', 'polite');
  status.textContent = 'Waiting for the first step…';
  const picture = document.createElement('div');
  picture.className = 'picture';
  const log = document.createElement('ol');
  log.className = 'progress-log';
  run.append(title, box, status, picture, log);
  runs.append(run);

  let events = 0;
  const preview = document.createElement('img');
  preview.className = 'preview';
  preview.alt = `x̂₀ preview, ${variance}`;
  try {
    await readEvents(`/v1/diffusion/samples/stream?${query}`, (name, data) => {
      if (name === 'progress') {
        events++;
        status.textContent = `${events} progress events · step ${data.step} of ${data.steps} · t = ${data.t} → s = ${data.s} · σ² = ${data.sigma2.toExponential(3)}`;
        const item = document.createElement('li');
        item.textContent = `t = ${data.t} → ${data.s}, σ² = ${data.sigma2.toExponential(3)}`;
        log.append(item);
        log.scrollTop = log.scrollHeight;
      } else if (name === 'preview' && data.png) {
        preview.src = `data:image/png;base64,${data.png}`;
        if (!preview.isConnected) picture.replaceChildren(preview);
      } else if (name === 'preview' && data.points) {
        const live = scatter(data.points, model, `x̂₀ at step ${data.step}`);
        live.classList.replace('final', 'preview');
        picture.replaceChildren(live);
      } else if (name === 'result') {
        finish(run, picture, data, model, variance, events);
      }
    });
  } catch (error) {
    status.textContent = '';
    showProblem(box, error);
  }
}

function finish(run, picture, result, model, variance, events) {
  let href;
  if (result.png) {
    const image = document.createElement('img');
    image.className = 'final';
    image.alt = `${result.count} samples, ${variance}`;
    image.src = href = `data:image/png;base64,${result.png}`;
    picture.replaceChildren(image);
  } else {
    const canvas = scatter(result.samples, model, 'final samples');
    canvas.setAttribute('aria-label', `${result.count} samples, first two coordinates, ${variance}`);
    picture.replaceChildren(canvas);
    href = canvas.toDataURL('image/png');
  }
  const done = document.createElement('p');
  done.className = 'done';
  done.textContent = `Done: ${result.count} samples in ${result.sampling_ms.toFixed(0)} ms, seed ${result.seed}, ${events} steps streamed. `;
  const link = document.createElement('a');
  link.className = 'download';
  link.download = `${result.model}-${variance}-K${result.trajectory.length - 1}-seed${result.seed}.png`;
  link.href = href;
  link.textContent = 'Download PNG';
  done.append(link);
  run.insertBefore(done, picture);
}

// The first two coordinates of every point (x̂₀ while streaming, then the samples), on axes that fit them.
function scatter(samples, model, label = 'samples') {
  const size = 320;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  canvas.className = 'final scatter';
  canvas.setAttribute('role', 'img');
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, size, size);
  const reach = Math.max(1, ...samples.flatMap(s => [Math.abs(s[0]), Math.abs(s[1] ?? 0)])) * 1.1;
  const at = v => size / 2 + (v / reach) * (size / 2);
  ctx.strokeStyle = '#ccc';
  ctx.beginPath();
  ctx.moveTo(0, size / 2); ctx.lineTo(size, size / 2);
  ctx.moveTo(size / 2, 0); ctx.lineTo(size / 2, size);
  ctx.stroke();
  ctx.fillStyle = '#2456c4';
  for (const s of samples) {
    ctx.beginPath();
    ctx.arc(at(s[0]), at(-(s[1] ?? 0)), 3, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.fillStyle = '#555';
  ctx.fillText(`${model?.name ?? ''} ${label}, ±${reach.toFixed(1)}`, 6, 14);
  return canvas;
}
