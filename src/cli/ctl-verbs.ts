/**
 * amqpctl's verbs other than the lists: status, await_startup, the health checks (ping,
 * check_running, check_port_connectivity, check_alarms, check_local_alarms), purge_queue,
 * delete_queue, close_connection, definitions export/import, and vhost/user/permission writes
 * (which the broker may answer 501 until the users issue lands; the reason is printed).
 *
 * Invariant: each verb makes its HTTP calls and returns text and an exit code; messages follow
 * rabbitmqctl's wording. Not here: argument parsing (amqpctl.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { CtlError, EXIT_UNAVAILABLE, EXIT_USAGE, type CtlClient } from './ctl-client.js';
import type { OutputOptions } from './ctl-output.js';

/** amqpctl's command line, parsed (amqpctl.ts). */
export interface ParsedArgs {
  readonly verb: string;
  readonly args: string[];
  readonly flags: Set<string>;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly vhost: string;
  /** Every option given with a value, by name (--priority, --apply-to for the policy verbs). */
  readonly options: Readonly<Record<string, string>>;
  readonly timeoutS: number;
  readonly out: OutputOptions;
}

export interface Invocation {
  readonly a: ParsedArgs;
  readonly client: CtlClient;
}

type Verb = (inv: Invocation) => Promise<{ stdout: string; code: number }>;
type Obj = Record<string, unknown>;

const e = encodeURIComponent;

function text(v: unknown, dflt: string): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : dflt;
}
const done = (stdout: string, code = 0): { stdout: string; code: number } => ({ stdout, code });

function need(inv: Invocation, n: number, usage: string): string[] {
  if (inv.a.args.length < n) throw new CtlError(`usage: amqpctl ${inv.a.verb} ${usage}`, EXIT_USAGE);
  return inv.a.args;
}

function say(inv: Invocation, ...lines: string[]): string {
  return inv.a.out.quiet ? '' : `${lines.join('\n')}\n`;
}

async function nodeName(inv: Invocation): Promise<string> {
  const o = (await inv.client.get('/api/overview')) as Obj;
  return String(o['node']);
}

const status: Verb = async (inv) => {
  const o = (await inv.client.get('/api/overview')) as Obj;
  const n = ((await inv.client.get('/api/nodes')) as Obj[])[0] ?? {};
  if (inv.a.out.json) return done(`${JSON.stringify({ ...o, node_details: n })}\n`);
  const listeners = (o['listeners'] as Obj[]).map(
    (l) => `Interface: ${String(l['ip_address'])}, port: ${String(l['port'])}, protocol: ${String(l['protocol'])}`,
  );
  const lines = [
    `Status of node ${String(o['node'])} ...`,
    'Runtime',
    '',
    `OS PID: ${String(n['os_pid'])}`,
    `Product name: ${String(o['product_name'])}`,
    `Product version: ${String(o['product_version'])}`,
    `RabbitMQ version: ${String(o['rabbitmq_version'])}`,
    `Cluster name: ${String(o['cluster_name'])}`,
    `Uptime (seconds): ${Math.round(Number(n['uptime']) / 1000)}`,
    '',
    'Alarms',
    '',
    n['mem_alarm'] === true || n['disk_free_alarm'] === true
      ? `${n['mem_alarm'] === true ? 'memory ' : ''}${n['disk_free_alarm'] === true ? 'disk' : ''}`
      : '(none)',
    '',
    'Memory',
    '',
    `Total memory used: ${(Number(n['mem_used']) / 2 ** 30).toFixed(4)} gb`,
    `Calculated high watermark: ${(Number(n['mem_limit']) / 2 ** 30).toFixed(4)} gb`,
    '',
    'Free Bytes',
    '',
    `Free disk space: ${String(n['disk_free'])} bytes`,
    `Free disk space low watermark: ${String(n['disk_free_limit'])} bytes`,
    '',
    'Listeners',
    '',
    ...listeners,
  ];
  return done(`${lines.join('\n')}\n`);
};

const awaitStartup: Verb = async (inv) => {
  const deadline = Date.now() + inv.a.timeoutS * 1000;
  for (;;) {
    try {
      const r = await inv.client.call('GET', '/api/health/checks/ready-to-serve-clients', undefined, {}, [503]);
      if (r.status === 200) return done('');
    } catch (err) {
      if (!(err instanceof CtlError) || err.exitCode !== EXIT_UNAVAILABLE) throw err;
      if (Date.now() >= deadline) throw err;
    }
    if (Date.now() >= deadline) throw new CtlError(`the broker did not finish starting within ${inv.a.timeoutS} seconds`, EXIT_UNAVAILABLE);
    await new Promise((r) => setTimeout(r, 200));
  }
};

async function healthCheck(inv: Invocation, path: string, banner: string, success: string): Promise<{ stdout: string; code: number }> {
  const r = await inv.client.call('GET', path, undefined, {}, [503]);
  if (r.status === 200) return done(say(inv, banner, success));
  throw new CtlError(text((r.body as Obj)['reason'], 'health check failed'), EXIT_UNAVAILABLE);
}

const ping: Verb = async (inv) => {
  const node = await nodeName(inv);
  return done(
    say(
      inv,
      `Will ping ${node}. This only checks if the OS process is running and registered with epmd. Timeout: ${inv.a.timeoutS * 1000} ms.`,
      'Ping succeeded',
    ),
  );
};

const checkRunning: Verb = async (inv) => {
  const node = await nodeName(inv);
  return healthCheck(
    inv,
    '/api/health/checks/ready-to-serve-clients',
    `Checking if RabbitMQ is running on node ${node} ...`,
    `RabbitMQ on node ${node} is fully booted and running`,
  );
};

const checkAlarms =
  (local: boolean): Verb =>
  async (inv) => {
    const node = await nodeName(inv);
    const path = local ? '/api/health/checks/local-alarms' : '/api/health/checks/alarms';
    return healthCheck(
      inv,
      path,
      `Asking node ${node} to report any ${local ? 'local' : 'known'} resource alarms ...`,
      `Node ${node} reported no ${local ? 'local ' : ''}alarms${local ? '' : ', local or clustered'}`,
    );
  };

function tcpOk(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => finish(false), timeoutMs);
    function finish(ok: boolean): void {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    }
    s.once('connect', () => finish(true));
    s.once('error', () => finish(false));
  });
}

const checkPortConnectivity: Verb = async (inv) => {
  const o = (await inv.client.get('/api/overview')) as Obj;
  const node = String(o['node']);
  const ports = (o['listeners'] as Obj[]).map((l) => Number(l['port']));
  const failed: number[] = [];
  for (const p of ports) if (!(await tcpOk(inv.a.host, p, inv.a.timeoutS * 1000))) failed.push(p);
  if (failed.length > 0) throw new CtlError(`Connection to ports ${failed.join(', ')} on node ${node} failed`, EXIT_UNAVAILABLE);
  return done(
    say(
      inv,
      `Testing TCP connections to all active listeners on node ${node} ...`,
      `Successfully connected to ports ${ports.join(', ')} on node ${node}.`,
    ),
  );
};

const purgeQueue: Verb = async (inv) => {
  const [q = ''] = need(inv, 1, '[-p vhost] <queue>');
  await inv.client.call('DELETE', `/api/queues/${e(inv.a.vhost)}/${e(q)}/contents`);
  return done(say(inv, `Purging queue '${q}' in vhost '${inv.a.vhost}' ...`));
};

const deleteQueue: Verb = async (inv) => {
  const [q = ''] = need(inv, 1, '[-p vhost] <queue> [--if-empty] [--if-unused]');
  const before = (await inv.client.get(`/api/queues/${e(inv.a.vhost)}/${e(q)}`)) as Obj;
  const query = [
    inv.a.flags.has('--if-empty') || inv.a.flags.has('-e') ? 'if-empty=true' : '',
    inv.a.flags.has('--if-unused') || inv.a.flags.has('-u') ? 'if-unused=true' : '',
  ]
    .filter((x) => x !== '')
    .join('&');
  await inv.client.call('DELETE', `/api/queues/${e(inv.a.vhost)}/${e(q)}${query === '' ? '' : `?${query}`}`);
  return done(
    say(
      inv,
      `Deleting queue '${q}' on vhost '${inv.a.vhost}' ...`,
      `Queue was successfully deleted with ${text(before['messages'], '0')} ready messages`,
    ),
  );
};

const closeConnection: Verb = async (inv) => {
  const [name = '', reason = 'Closed via amqpctl'] = need(inv, 1, '<connection name> <explanation>');
  await inv.client.call('DELETE', `/api/connections/${e(name)}`, undefined, { 'X-Reason': reason });
  return done(say(inv, `Closing connection ${name}, reason: ${reason}...`));
};

const exportDefinitions: Verb = async (inv) => {
  const [file = ''] = need(inv, 1, '<file | ->');
  const doc = JSON.stringify(await inv.client.get('/api/definitions'));
  if (file === '-') return done(`${doc}\n`);
  writeFileSync(file, doc);
  return done(say(inv, `Exporting definitions in JSON to a file at "${file}" ...`));
};

const importDefinitions: Verb = async (inv) => {
  const [file = ''] = need(inv, 1, '<file | ->');
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  await inv.client.call('POST', '/api/definitions', JSON.parse(text) as unknown);
  return done(
    say(
      inv,
      `Importing definitions in JSON from a file at "${file}" ...`,
      'Successfully started definition import. This process is asynchronous and can take some time.',
    ),
  );
};

const simple =
  (
    usage: string,
    n: number,
    call: (inv: Invocation, args: string[]) => Promise<unknown>,
    message: (inv: Invocation, args: string[]) => string,
  ): Verb =>
  async (inv) => {
    const args = need(inv, n, usage);
    await call(inv, args);
    return done(say(inv, message(inv, args)));
  };

export const VERBS: Readonly<Record<string, Verb>> = {
  status,
  await_startup: awaitStartup,
  ping,
  check_running: checkRunning,
  check_alarms: checkAlarms(false),
  check_local_alarms: checkAlarms(true),
  check_port_connectivity: checkPortConnectivity,
  purge_queue: purgeQueue,
  delete_queue: deleteQueue,
  close_connection: closeConnection,
  export_definitions: exportDefinitions,
  import_definitions: importDefinitions,
  add_vhost: simple(
    '<vhost>',
    1,
    (i, [v = '']) => i.client.call('PUT', `/api/vhosts/${e(v)}`, {}),
    (_i, [v = '']) => `Adding vhost "${v}" ...`,
  ),
  delete_vhost: simple(
    '<vhost>',
    1,
    (i, [v = '']) => i.client.call('DELETE', `/api/vhosts/${e(v)}`),
    (_i, [v = '']) => `Deleting vhost "${v}" ...`,
  ),
  add_user: simple(
    '<user> <password>',
    2,
    (i, [u = '', p = '']) => i.client.call('PUT', `/api/users/${e(u)}`, { password: p, tags: '' }),
    (_i, [u = '']) => `Adding user "${u}" ...`,
  ),
  delete_user: simple(
    '<user>',
    1,
    (i, [u = '']) => i.client.call('DELETE', `/api/users/${e(u)}`),
    (_i, [u = '']) => `Deleting user "${u}" ...`,
  ),
  change_password: simple(
    '<user> <password>',
    2,
    async (i, [u = '', p = '']) => {
      const user = (await i.client.get(`/api/users/${e(u)}`)) as Obj;
      return i.client.call('PUT', `/api/users/${e(u)}`, { password: p, tags: user['tags'] });
    },
    (_i, [u = '']) => `Changing password for user "${u}" ...`,
  ),
  set_user_tags: simple(
    '<user> <tag> ...',
    1,
    async (i, [u = '', ...tags]) => {
      const user = (await i.client.get(`/api/users/${e(u)}`)) as Obj;
      return i.client.call('PUT', `/api/users/${e(u)}`, { password_hash: user['password_hash'], tags });
    },
    (_i, [u = '', ...tags]) => `Setting tags for user "${u}" to [${tags.join(', ')}] ...`,
  ),
  set_permissions: simple(
    '[-p vhost] <user> <conf> <write> <read>',
    4,
    (i, [u = '', c, w, r]) => i.client.call('PUT', `/api/permissions/${e(i.a.vhost)}/${e(u)}`, { configure: c, write: w, read: r }),
    (i, [u = '']) => `Setting permissions for user "${u}" in vhost "${i.a.vhost}" ...`,
  ),
  clear_permissions: simple(
    '[-p vhost] <user>',
    1,
    (i, [u = '']) => i.client.call('DELETE', `/api/permissions/${e(i.a.vhost)}/${e(u)}`),
    (i, [u = '']) => `Clearing permissions for user "${u}" in vhost "${i.a.vhost}" ...`,
  ),
};
