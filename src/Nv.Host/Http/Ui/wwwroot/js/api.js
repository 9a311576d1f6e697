// Calls to Nv's HTTP API with the API key of this tab. The key lives in sessionStorage only: it is gone when the tab
// closes, never shared with other tabs, never put in a URL, a cookie or localStorage.
import { parseJson } from './json.js';

const KEY = 'nv.apiKey';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

/** An API error: the HTTP status and the Problem+json body when there is one. */
export class ApiError extends Error {
  constructor(status, problem, path) {
    super(problem?.detail || problem?.title || `HTTP ${status} from ${path}`);
    this.status = status;
    this.problem = problem;
    this.type = typeof problem?.type === 'string' ? problem.type.replace('https://nv.dev/problems/', '') : null;
  }
}

/** GETs a JSON resource (numbers keep their tokens, see json.js); throws ApiError on any non-2xx answer. */
export async function get(path, { key = session.key } = {}) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = 'Bearer ' + key;
  const response = await fetch(path, { headers, cache: 'no-store', credentials: 'omit', redirect: 'error', referrerPolicy: 'no-referrer' });
  const text = await response.text();
  let body = null;
  if (text) {
    try { body = parseJson(text); } catch { body = null; }
  }
  if (!response.ok) throw new ApiError(response.status, body, path);
  if (body === null && text) throw new ApiError(response.status, { detail: `The answer from ${path} is not JSON.` }, path);
  return body;
}

export const enc = encodeURIComponent;

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}
