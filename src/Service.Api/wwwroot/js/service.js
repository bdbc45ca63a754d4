// Service panel: readiness, version and runtime, and every model with its state.
import { ApiError, clearProblem, getJson, showProblem } from './api.js';

const problem = document.getElementById('service-problem');
const ready = document.getElementById('service-ready');
const info = document.getElementById('service-info');
const models = document.querySelector('#service-models tbody');

export function initService() {
  document.getElementById('service-refresh').addEventListener('click', refresh);
  return refresh();
}

async function refresh() {
  clearProblem(problem);
  try {
    await getJson('/readyz');
    ready.textContent = 'Ready: every model and every start-up index has loaded.';
    ready.className = 'state ready';
  } catch (error) {
    ready.textContent = error instanceof ApiError ? `Not ready: ${error.problem.detail}` : `Not ready: ${error.message}`;
    ready.className = 'state not-ready';
  }
  try {
    const about = await getJson('/info');
    const rows = [['Version', about.version], ['Runtime', about.runtime], ['ONNX Runtime', about.onnx_runtime], ['Default embedding model', about.default_model]];
    info.replaceChildren(...rows.flatMap(([name, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = value;
      return [dt, dd];
    }));
    const list = await getJson('/v1/models');
    models.replaceChildren(...list.data.map(m => {
      const tr = document.createElement('tr');
      for (const value of [m.name, m.kind, m.device, m.error ? `${m.status}: ${m.error}` : m.status]) {
        const td = document.createElement('td');
        td.textContent = value;
        tr.append(td);
      }
      tr.dataset.status = m.status;
      return tr;
    }));
  } catch (error) {
    showProblem(problem, error);
  }
}
