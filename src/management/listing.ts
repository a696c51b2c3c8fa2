/**
 * List endpoints' query parameters as RabbitMQ's management API has them: `name` (substring, or a
 * regex with use_regex=true), `sort` (a dotted key) and `sort_reverse`, `columns` (dotted keys
 * kept), and paging with `page`/`page_size` (default 100, at most 500), which turns the reply into
 * `{filtered_count, item_count, items, page, page_count, page_size, total_count}`.
 *
 * Invariant: only the page asked for is rendered as JSON when sorting by name (or not sorting),
 * so listing 100k queues a page at a time stays cheap. Not here: what an item looks like.
 */
import { badRequest } from './http.js';
import type { Obj } from './shapes.js';

export const PAGE_SIZE_DEFAULT = 100;
export const PAGE_SIZE_MAX = 500;

export interface ListSource<T> {
  readonly items: readonly T[];
  readonly nameOf: (t: T) => string;
  readonly toJson: (t: T) => Obj;
}

export function listReply<T>(src: ListSource<T>, query: URLSearchParams): unknown {
  const filtered = filterByName(src, query);
  const sortKey = query.get('sort') ?? '';
  const reverse = query.get('sort_reverse') === 'true';
  const paging = pageOf(query);
  let rows: Obj[];
  let filteredCount = filtered.length;
  if (sortKey === '' || sortKey === 'name') {
    const sorted = [...filtered].sort((a, b) => compare(src.nameOf(a), src.nameOf(b)));
    if (reverse) sorted.reverse();
    const slice = paging === undefined ? sorted : sorted.slice((paging.page - 1) * paging.size, paging.page * paging.size);
    rows = slice.map(src.toJson);
  } else {
    const all = filtered.map(src.toJson).sort((a, b) => compare(dig(a, sortKey), dig(b, sortKey)));
    if (reverse) all.reverse();
    filteredCount = all.length;
    rows = paging === undefined ? all : all.slice((paging.page - 1) * paging.size, paging.page * paging.size);
  }
  const columns = query.get('columns');
  if (columns !== null && columns !== '') rows = rows.map((r) => pick(r, columns.split(',')));
  if (paging === undefined) return rows;
  return {
    filtered_count: filteredCount,
    item_count: rows.length,
    items: rows,
    page: paging.page,
    page_count: Math.max(1, Math.ceil(filteredCount / paging.size)),
    page_size: paging.size,
    total_count: src.items.length,
  };
}

/** `columns` applied to one object (single-object GETs honour it too). */
export function pickColumns(row: Obj, query: URLSearchParams): Obj {
  const columns = query.get('columns');
  return columns === null || columns === '' ? row : pick(row, columns.split(','));
}

function filterByName<T>(src: ListSource<T>, query: URLSearchParams): readonly T[] {
  const name = query.get('name');
  if (name === null || name === '') return src.items;
  if (query.get('use_regex') === 'true') {
    let re: RegExp;
    try {
      re = new RegExp(name);
    } catch {
      throw badRequest(`invalid regex ${name}`);
    }
    return src.items.filter((t) => re.test(src.nameOf(t)));
  }
  return src.items.filter((t) => src.nameOf(t).includes(name));
}

function pageOf(query: URLSearchParams): { page: number; size: number } | undefined {
  const p = query.get('page');
  if (p === null) return undefined;
  const page = Number(p);
  const size = Number(query.get('page_size') ?? PAGE_SIZE_DEFAULT);
  if (!Number.isInteger(page) || page < 1) throw badRequest('page must be a positive integer');
  if (!Number.isInteger(size) || size < 1) throw badRequest('page_size must be a positive integer');
  if (size > PAGE_SIZE_MAX) throw badRequest(`page_size must be less than or equal to ${PAGE_SIZE_MAX}`);
  return { page, size };
}

function dig(o: Obj, dotted: string): unknown {
  let v: unknown = o;
  for (const k of dotted.split('.')) v = typeof v === 'object' && v !== null ? (v as Obj)[k] : undefined;
  return v;
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = show(a);
  const y = show(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function pick(row: Obj, columns: readonly string[]): Obj {
  const out: Obj = {};
  for (const col of columns) {
    const v = dig(row, col);
    if (v === undefined) continue;
    const keys = col.split('.');
    let at = out;
    for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Obj;
    at[keys[keys.length - 1] as string] = v;
  }
  return out;
}

/** Text of a JSON value: strings as they are, other scalars printed, structures as JSON. */
function show(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint') return x.toString();
  return JSON.stringify(x) ?? '';
}
