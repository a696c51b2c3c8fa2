/**
 * rabbitmqctl's output for list commands: banner lines ("Timeout: 60.0 seconds ...", for
 * list_queues only as in rabbitmqctl 3.10, then "Listing queues for vhost / ..."), a header row,
 * then TAB-separated rows; `-q` drops the banners, `--no-table-headers` (or `-s`) the header row,
 * and `--formatter json` prints a JSON array of objects. Also the column tables: rabbitmqctl's column names mapped to the API's fields.
 *
 * Invariant: pure (returns text). Not here: HTTP.
 */

export interface OutputOptions {
  readonly quiet: boolean;
  readonly headers: boolean;
  readonly json: boolean;
}

export interface ListSpec {
  readonly path: (vhost: string) => string;
  readonly banner: (vhost: string) => string;
  readonly defaults: readonly string[];
  /** rabbitmqctl column → dotted API field (absent: the same name). */
  readonly fields?: Readonly<Record<string, string>>;
  readonly constants?: Readonly<Record<string, string>>;
}

const v = encodeURIComponent;

export const LISTS: Readonly<Record<string, ListSpec>> = {
  list_queues: { path: (h) => `/api/queues/${v(h)}`, banner: (h) => `Listing queues for vhost ${h} ...`, defaults: ['name', 'messages'] },
  list_exchanges: {
    path: (h) => `/api/exchanges/${v(h)}`,
    banner: (h) => `Listing exchanges for vhost ${h} ...`,
    defaults: ['name', 'type'],
  },
  list_bindings: {
    path: (h) => `/api/bindings/${v(h)}`,
    banner: (h) => `Listing bindings for vhost ${h}...`,
    defaults: ['source_name', 'source_kind', 'destination_name', 'destination_kind', 'routing_key', 'arguments'],
    fields: { source_name: 'source', destination_name: 'destination', destination_kind: 'destination_type' },
    constants: { source_kind: 'exchange' },
  },
  list_connections: {
    path: () => '/api/connections',
    banner: () => 'Listing connections ...',
    defaults: ['user', 'peer_host', 'peer_port', 'state'],
    fields: { pid: 'name' },
  },
  list_channels: {
    path: () => '/api/channels',
    banner: () => 'Listing channels ...',
    defaults: ['pid', 'user', 'consumer_count', 'messages_unacknowledged'],
    fields: { pid: 'name', connection: 'connection_details.name' },
  },
  list_consumers: {
    path: (h) => `/api/consumers/${v(h)}`,
    banner: (h) => `Listing consumers in vhost ${h} ...`,
    defaults: ['queue_name', 'channel_pid', 'consumer_tag', 'ack_required', 'prefetch_count', 'active', 'arguments'],
    fields: { queue_name: 'queue.name', channel_pid: 'channel_details.name' },
  },
  list_vhosts: { path: () => '/api/vhosts', banner: () => 'Listing vhosts ...', defaults: ['name'] },
  list_users: { path: () => '/api/users', banner: () => 'Listing users ...', defaults: ['user', 'tags'], fields: { user: 'name' } },
  list_permissions: {
    path: (h) => `/api/vhosts/${v(h)}/permissions`,
    banner: (h) => `Listing permissions for vhost "${h}" ...`,
    defaults: ['user', 'configure', 'write', 'read'],
  },
};

function dig(o: unknown, dotted: string): unknown {
  let at = o;
  for (const k of dotted.split('.')) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[k] : undefined;
  return at;
}

/** Picks the columns from API rows (rabbitmqctl names as keys). */
export function selectColumns(spec: ListSpec, rows: readonly unknown[], columns: readonly string[]): Record<string, unknown>[] {
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const col of columns) out[col] = spec.constants?.[col] ?? dig(row, spec.fields?.[col] ?? col) ?? '';
    return out;
  });
}

function cell(x: unknown): string {
  if (x === null || x === undefined) return '';
  if (Array.isArray(x)) return `[${x.map(cell).join(', ')}]`;
  return show(x);
}

/** Text of a JSON value: strings as they are, other scalars printed, structures as JSON. */
function show(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint') return x.toString();
  return JSON.stringify(x) ?? '';
}

export function renderList(
  banner: readonly string[],
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  o: OutputOptions,
): string {
  if (o.json) return `${JSON.stringify(rows)}\n`;
  const lines: string[] = [];
  if (!o.quiet) lines.push(...banner);
  if (o.headers) lines.push(columns.join('\t'));
  for (const r of rows) lines.push(columns.map((c) => cell(r[c])).join('\t'));
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
