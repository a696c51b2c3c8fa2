import { describe, expect, it } from 'vitest';
import { jsonToTable, tableToJson } from '../../../src/management/field-json.js';
import { listReply } from '../../../src/management/listing.js';
import { segments } from '../../../src/management/router.js';

const items = Array.from({ length: 250 }, (_, i) => ({ name: `q${String(i).padStart(3, '0')}`, n: i % 7 }));
const src = { items, nameOf: (t: (typeof items)[number]) => t.name, toJson: (t: (typeof items)[number]) => ({ name: t.name, stats: { n: t.n } }) };
const q = (s: string): URLSearchParams => new URLSearchParams(s);

describe('management listing', () => {
  it('pages as RabbitMQ: counts, last partial page, page_count', () => {
    const last = listReply(src, q('page=3&page_size=100')) as { items: { name: string }[] };
    expect({ ...last, items: last.items.length }).toEqual({ filtered_count: 250, item_count: 50, items: 50, page: 3, page_count: 3, page_size: 100, total_count: 250 });
    expect(last.items[0]?.name).toBe('q200');
    expect(() => listReply(src, q('page=0'))).toThrow(/page/);
  });

  it('filters by substring or regex, sorts by a dotted key (reversed), and keeps dotted columns', () => {
    expect((listReply(src, q('name=q24')) as unknown[]).length).toBe(10);
    expect((listReply(src, q('name=^q00[0-2]$&use_regex=true')) as unknown[]).length).toBe(3);
    const sorted = listReply(src, q('sort=stats.n&sort_reverse=true&columns=stats.n&name=q00')) as { stats: { n: number } }[];
    expect(sorted.map((r) => r.stats.n)).toEqual([6, 5, 4, 3, 2, 1, 0, 2, 1, 0].sort((a, b) => b - a));
    expect(sorted[0]).toEqual({ stats: { n: 6 } });
  });

  it('splits paths before decoding, so %2F stays in its segment', () => {
    expect(segments('/api/queues/%2F/a%2Fb')).toEqual(['api', 'queues', '/', 'a/b']);
    expect(segments('/api/queues/')).toEqual(['api', 'queues']);
    expect(segments('/api/%E0%A4%A')).toBeUndefined();
  });

  it('converts field tables to JSON and back', () => {
    const j = { n: 5, f: 1.5, s: 'x', b: true, a: [1, 'y'], t: { k: null } };
    expect(tableToJson(jsonToTable(j))).toEqual(j);
    expect(jsonToTable({ n: 5 }).get('n')).toEqual({ tag: 'l', value: 5n });
    expect(() => jsonToTable([1])).toThrow(TypeError);
  });
});
