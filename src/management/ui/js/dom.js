// DOM helpers. Every value reaches the page through textContent, a text node or setAttribute:
// nothing here (or anywhere in the UI) assigns innerHTML, so queue names, payloads and other user
// input are shown as text, never parsed as markup.

/** h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', childNode, [more]) */
export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  appendAll(el, children);
  return el;
}

function appendAll(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
  return el;
}

/** An in-app link: hash route parts are percent-encoded, so any name round-trips. */
export function link(label, ...parts) {
  return h('a', { href: `#/${parts.map(encodeURIComponent).join('/')}` }, label);
}

export const fmtNum = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '');
export const fmtRate = (r) => `${(typeof r === 'number' ? r : 0).toFixed(1)}/s`;
export const rateOf = (stats, key) => (stats && stats[`${key}_details`] ? stats[`${key}_details`].rate : 0);

export function fmtBytes(n) {
  if (typeof n !== 'number') return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** A status line under a form: ok (green) or error (red), with the API's reason. */
export function notice(el, ok, text) {
  el.className = ok ? 'notice ok' : 'notice err';
  el.textContent = text;
}

/** Runs an async action for a form, showing its outcome in `out`. */
export async function act(out, fn, okText) {
  try {
    const r = await fn();
    notice(out, true, typeof okText === 'function' ? okText(r) : okText);
    return true;
  } catch (err) {
    notice(out, false, `Failed: ${err.message}`);
    return false;
  }
}

/** A labelled field row for forms. */
export function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

export function section(title, ...children) {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...children);
}

/** Key/value rows. */
export function kv(rows) {
  return h('table', { class: 'kv' }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))));
}

/** JSON shown as text (arguments, properties, definitions). */
export const jsonText = (v) => (v === undefined ? '' : JSON.stringify(v));
