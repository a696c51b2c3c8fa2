// Server-paged tables, for lists that may hold many thousands of rows (queues): the API filters (a
// regex on the name), sorts (by a column's dotted key) and pages (100 a page by default), as
// RabbitMQ's UI asks it, so only one page of rows is fetched and drawn at each refresh.
import { h, replace } from './dom.js';

const PAGE_SIZES = [100, 500];
/** Typing in the filter box waits this long for more keys before it asks the API. */
const FILTER_WAIT_MS = 250;

/**
 * pagedTable({ id, columns: [{ label, cell, key?, num? }], load: (URLSearchParams) => Promise<page>, state, empty, noun })
 * `key`: the API's sort key for the column (none: not sortable); `load` answers the paged reply
 * ({items, page, page_count, filtered_count, total_count}). Page, page size, sort and filter live
 * in `state`, kept by the page across refreshes. Resolves to the element; `el.refresh()` reloads.
 */
export async function pagedTable(opts) {
  const { id, columns, load, state, empty = 'Nothing here.', noun = 'items' } = opts;
  state.page ??= 1;
  state.pageSize ??= PAGE_SIZES[0];
  const head = h('tr');
  const body = h('tbody');
  const table = h('table', { class: 'data', id }, h('thead', {}, head), body);
  const info = h('span', { class: 'muted pager-info' });
  const prev = h('button', { type: 'button', class: 'pager-prev' }, '‹ Previous');
  const next = h('button', { type: 'button', class: 'pager-next' }, 'Next ›');
  const sizes = PAGE_SIZES.map((n) => h('option', { value: String(n) }, `${n} a page`));
  const size = h('select', { class: 'pager-size', title: 'Rows a page' }, sizes);
  size.value = String(state.pageSize);
  const filter = h('input', { type: 'search', placeholder: 'Filter (regex)', value: state.filter || '', class: 'filter' });
  let reply;
  let asked = 0;

  const query = () => {
    const q = new URLSearchParams({ page: String(state.page), page_size: String(state.pageSize) });
    if (state.filter) {
      q.set('name', state.filter);
      q.set('use_regex', 'true');
    }
    const col = columns[state.sortCol];
    if (col && col.key) q.set('sort', col.key);
    if (col && col.key && state.desc) q.set('sort_reverse', 'true');
    return q;
  };

  const draw = () => {
    replace(head, columns.map((c, i) => headerCell(c, i)));
    const rows = reply ? reply.items : [];
    replace(
      body,
      rows.length === 0
        ? h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, empty))
        : rows.map((r) => h('tr', {}, columns.map((c) => cellOf(c, r)))),
    );
    if (reply) {
      const of = reply.filtered_count === reply.total_count ? '' : ` (of ${reply.total_count.toLocaleString('en-US')})`;
      info.textContent = `Page ${reply.page} of ${reply.page_count} · ${reply.filtered_count.toLocaleString('en-US')} ${noun}${of}`;
    }
    prev.disabled = !reply || reply.page <= 1;
    next.disabled = !reply || reply.page >= reply.page_count;
  };

  /** Fetches the current page; an answer overtaken by a newer request is dropped. */
  const refresh = async () => {
    const mine = ++asked;
    let r;
    try {
      r = await load(query());
    } catch (err) {
      if (mine === asked) info.textContent = `Failed: ${err.message}`;
      return;
    }
    if (mine !== asked) return;
    if (r.page > r.page_count) {
      state.page = r.page_count; // the list shrank under us: show its last page
      return refresh();
    }
    reply = r;
    draw();
  };

  const cellOf = (c, r) => h('td', { class: c.num ? 'num' : undefined, 'data-label': c.label || undefined }, c.cell(r));

  function headerCell(col, i) {
    if (!col.key) return h('th', { class: col.num ? 'num' : undefined }, col.label);
    const arrow = state.sortCol === i ? (state.desc ? ' ▼' : ' ▲') : '';
    const onclick = () => {
      state.desc = state.sortCol === i ? !state.desc : false;
      state.sortCol = i;
      state.page = 1;
      draw();
      void refresh();
    };
    return h('th', { class: `sortable${col.num ? ' num' : ''}`, title: 'Sort', onclick }, col.label + arrow);
  }

  let typing;
  filter.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.filter = filter.value;
      state.page = 1;
      void refresh();
    }, FILTER_WAIT_MS);
  });
  prev.addEventListener('click', () => {
    state.page = Math.max(1, state.page - 1);
    void refresh();
  });
  next.addEventListener('click', () => {
    state.page += 1;
    void refresh();
  });
  size.addEventListener('change', () => {
    state.pageSize = Number(size.value);
    state.page = 1;
    void refresh();
  });

  draw();
  await refresh();
  const wrap = h('div', { class: 'table-wrap' }, filter, table, h('div', { class: 'pager' }, prev, info, next, size));
  wrap.refresh = refresh;
  return wrap;
}
