// Building the DOM without markup: every value, above all every value from the audit trail, becomes a text node or an
// attribute set with setAttribute. No innerHTML, insertAdjacentHTML or document.write anywhere in the page, so a payload
// such as <img src=x onerror=...> is shown as those characters and never parsed as HTML.
import { canonicalTimestamp } from './canonical.js';
import { prettyJson } from './json.js';

const SAFE_HREF = /^(#|\/ui(?:\/|$)|\/v1\/)/;

/**
 * Creates an element. `props`: class, text, title, dataset {k: v}, on {event: fn}, href (only '#…', '/ui…' or '/v1/…'),
 * and any other attribute by name. Children: nodes, strings (as text), arrays, null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'href') {
      if (!SAFE_HREF.test(String(v))) throw new Error('refusing a link outside the page: ' + String(v).slice(0, 40));
      el.setAttribute('href', String(v));
    } else if (k.startsWith('on')) throw new Error('inline event handler attributes are not used');
    else if (k === 'value') el.value = String(v);
    else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** An SVG element (for charts), attributes set with setAttribute, children as for h. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  return append(el, children);
}

/** A path segment for the page's hash routes. */
export const seg = (s) => encodeURIComponent(String(s));

/** A hash route with a query string from the non-empty entries of `params`. */
export function route(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return '#' + path + (s ? '?' + s : '');
}

/** "2026-11-23 13:00:03.456Z" (UTC, milliseconds); the full 100 ns time is in the element's title. */
export function timeText(iso) {
  try {
    const c = canonicalTimestamp(iso);
    return c.slice(0, 10) + ' ' + c.slice(11, 23) + 'Z';
  } catch {
    return String(iso);
  }
}

export function time(iso) {
  let full = String(iso);
  try { full = canonicalTimestamp(iso); } catch { /* shown as given */ }
  return h('time', { datetime: full, title: full, text: timeText(iso) });
}

/** A JSON value shown as indented text (number tokens as written). */
export const jsonBlock = (value, props = {}) => h('pre', { class: 'json', ...props, text: prettyJson(value) });

/** A one-line JSON value for table cells. */
export function jsonInline(value) {
  const text = prettyJson(value).replace(/\n\s*/g, ' ');
  return h('code', { class: 'json-inline', text });
}

export function message(kind, ...children) {
  return h('div', { class: 'message ' + kind, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** Replaces an element's children (nodes, strings as text, arrays; null and false skipped). */
export function put(el, ...children) {
  clear(el);
  return append(el, children);
}
