// Calls to the service's public routes, and how their RFC 9457 problems are shown.

/** A non-2xx answer: the problem document (title, detail, status) and, for 429 and 503, Retry-After in seconds. */
export class ApiError extends Error {
  constructor(problem, retryAfter) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

/** Throws ApiError for a non-2xx response; a body that is not a problem document still gets a title. */
export async function ensureOk(response) {
  if (response.ok) return response;
  let problem;
  try {
    problem = await response.json();
  } catch {
    problem = {};
  }
  problem.status ??= response.status;
  problem.title ??= response.statusText || `HTTP ${response.status}`;
  const retry = response.headers.get('Retry-After');
  throw new ApiError(problem, retry === null ? null : Number(retry));
}

export async function getJson(path) {
  const response = await ensureOk(await fetch(path, { headers: { Accept: 'application/json' } }));
  return response.json();
}

export async function postJson(path, body) {
  const response = await ensureOk(await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  }));
  return { body: await response.json(), headers: response.headers };
}

/** Shows an error in a panel's alert box: the problem's title and detail, and Retry-After when the service sent one. */
export function showProblem(box, error) {
  box.replaceChildren();
  const title = document.createElement('strong');
  const detail = document.createElement('p');
  if (error instanceof ApiError) {
    title.textContent = `${error.problem.status} ${error.problem.title}`;
    detail.textContent = error.problem.detail ?? '';
    box.append(title, detail);
    if (error.retryAfter !== null && !Number.isNaN(error.retryAfter)) {
      const retry = document.createElement('p');
      retry.className = 'retry-after';
      retry.textContent = `Retry after ${error.retryAfter} s.`;
      box.append(retry);
    }
  } else {
    title.textContent = 'The request did not complete';
    detail.textContent = String(error?.message ?? error);
    box.append(title, detail);
  }
  box.hidden = false;
}

export function clearProblem(box) {
  box.hidden = true;
  box.replaceChildren();
}

/** Replaces a select's options, keeping the current choice when it is still offered. */
export function fillSelect(select, values, preferred) {
  const keep = select.value;
  select.replaceChildren(...values.map(value => {
    const option = document.createElement('option');
    option.value = option.textContent = value;
    return option;
  }));
  const choice = [keep, preferred].find(v => v && values.includes(v));
  if (choice) select.value = choice;
}
