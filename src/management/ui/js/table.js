// Sortable, filterable tables. A table is described by its columns; each column reads a cell
// from a row (`cell`) and, when sortable, a sort key (`sort`, defaulting to the cell value).
// Sort order and filter text live in `state`, kept by the page across refreshes.
import { fmtNum, fmtRate, h, rateOf, replace } from './dom.js';

/**
 * dataTable({ id, columns: [{ label, cell, sort?, num? }], rows, state, filterOf?, empty })
 * Returns the element (a filter box when filterOf is given, and the table).
 */
export function dataTable(opts) {
  const { id, columns, state = {}, filterOf, empty = 'Nothing here.' } = opts;
  const body = h('tbody');
  const head = h('tr');
  const table = h('table', { class: 'data', id }, h('thead', {}, head), body);
  let rows = opts.rows;

  const draw = () => {
    replace(head, columns.map((c, i) => headerCell(c, i, state, draw)));
    let shown = rows;
    if (filterOf && state.filter) shown = shown.filter((r) => matches(filterOf(r), state.filter));
    if (state.sortCol !== undefined && columns[state.sortCol]) shown = sorted(shown, columns[state.sortCol], state.desc);
    replace(
      body,
      shown.length === 0 ? h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, empty)) : shown.map((r) => rowOf(columns, r)),
    );
  };
  draw();

  const wrap = h('div', { class: 'table-wrap' });
  if (filterOf) {
    const input = h('input', { type: 'search', placeholder: 'Filter (regex)', value: state.filter || '', class: 'filter' });
    input.addEventListener('input', () => {
      state.filter = input.value;
      draw();
    });
    wrap.append(input);
  }
  wrap.append(table);
  wrap.update = (newRows) => {
    rows = newRows;
    draw();
  };
  return wrap;
}

/** A right-aligned count column sorted by its number. */
export const numColumn = (label, get) => ({ label, cell: (r) => fmtNum(get(r)), sort: get, num: true });

/** A rate column: `message_stats.{key}_details.rate` as messages per second. */
export const rateColumn = (label, key) => ({
  label,
  cell: (r) => fmtRate(rateOf(r.message_stats, key)),
  sort: (r) => rateOf(r.message_stats, key),
  num: true,
});

function headerCell(col, i, state, draw) {
  if (col.sort === false) return h('th', {}, col.label);
  const arrow = state.sortCol === i ? (state.desc ? ' ▼' : ' ▲') : '';
  return h(
    'th',
    {
      class: `sortable${col.num ? ' num' : ''}`,
      title: 'Sort',
      onclick: () => {
        state.desc = state.sortCol === i ? !state.desc : false;
        state.sortCol = i;
        draw();
      },
    },
    col.label + arrow,
  );
}

function rowOf(columns, r) {
  return h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : undefined, 'data-label': c.label || undefined }, c.cell(r))));
}

/** Case-insensitive regex match; a pattern that does not compile is matched as plain text. */
function matches(text, pattern) {
  try {
    return new RegExp(pattern, 'i').test(text);
  } catch {
    return text.toLowerCase().includes(pattern.toLowerCase());
  }
}

function sorted(rows, col, desc) {
  const key = col.sort || col.cell;
  const keyed = rows.map((r) => [key(r), r]);
  keyed.sort(([a], [b]) => {
    const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
    return desc ? -c : c;
  });
  return keyed.map(([, r]) => r);
}
