/**
 * amqpctl: rabbitmqctl's most used verbs (and rabbitmq-diagnostics' health checks) for a running
 * amqpd, spoken over its management HTTP API. Global options: --host/-H (127.0.0.1),
 * --port/-P (the management port, 15672), -u/--username and --password (guest/guest; also
 * AMQPCTL_USER/AMQPCTL_PASSWORD), -p/--vhost (/), -q/--quiet, -s/--silent/--no-table-headers,
 * --formatter json, -t/--timeout seconds (60). Without AMQPCTL_* values, the broker's own env
 * (AMQPD_MANAGEMENT_PORT, AMQPD_DEFAULT_USER/PASS or RABBITMQ_DEFAULT_USER/PASS) is used, so a
 * container's HEALTHCHECK reaches the broker started from the same environment.
 *
 * Exit codes as rabbitmqctl: 0 ok, 64 usage, 69 broker unreachable or a failed health check,
 * 70 anything else the broker refused. Not here: output formats (ctl-output.ts), HTTP
 * (ctl-client.ts).
 */
import { CtlClient, CtlError, EXIT_USAGE } from './ctl-client.js';
import { LISTS, renderList, selectColumns } from './ctl-output.js';
import { VERBS, type Invocation, type ParsedArgs } from './ctl-verbs.js';
import { POLICY_VERBS } from './ctl-policies.js';

const WITH_VALUE: Readonly<Record<string, string>> = {
  '-H': 'host',
  '--host': 'host',
  '-P': 'port',
  '--port': 'port',
  '-u': 'user',
  '--username': 'user',
  '--password': 'password',
  '-p': 'vhost',
  '--vhost': 'vhost',
  '-t': 'timeout',
  '--timeout': 'timeout',
  '--formatter': 'formatter',
  '-n': 'node',
  '--node': 'node',
  '--priority': 'priority',
  '--apply-to': 'apply-to',
};

export function parseCtlArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedArgs {
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const key = WITH_VALUE[name];
    if (key !== undefined) {
      const val = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (val === undefined) throw new CtlError(`option ${name} needs a value`, EXIT_USAGE);
      values[key] = val;
    } else if (a.startsWith('-') && a !== '-') flags.add(a);
    else positional.push(a);
  }
  const [verb = '', ...args] = positional;
  const port = Number(values['port'] ?? env['AMQPCTL_PORT'] ?? env['AMQPD_MANAGEMENT_PORT'] ?? 15672);
  const timeoutS = Number(values['timeout'] ?? 60);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CtlError('--port must be a port number', EXIT_USAGE);
  if (!(timeoutS > 0)) throw new CtlError('--timeout must be a positive number of seconds', EXIT_USAGE);
  const formatter = values['formatter'] ?? 'table';
  if (formatter !== 'json' && formatter !== 'table') throw new CtlError('--formatter must be json or table', EXIT_USAGE);
  const silent = flags.has('-s') || flags.has('--silent');
  return {
    verb,
    args,
    flags,
    host: values['host'] ?? env['AMQPCTL_HOST'] ?? '127.0.0.1',
    port,
    user: values['user'] ?? env['AMQPCTL_USER'] ?? env['AMQPD_DEFAULT_USER'] ?? env['RABBITMQ_DEFAULT_USER'] ?? 'guest',
    password: values['password'] ?? env['AMQPCTL_PASSWORD'] ?? env['AMQPD_DEFAULT_PASS'] ?? env['RABBITMQ_DEFAULT_PASS'] ?? 'guest',
    vhost: values['vhost'] ?? '/',
    options: values,
    timeoutS,
    out: {
      quiet: silent || flags.has('-q') || flags.has('--quiet'),
      headers: !silent && !flags.has('--no-table-headers'),
      json: formatter === 'json',
    },
  };
}

export const USAGE = `Usage: amqpctl [-H host] [-P management-port] [-u user] [--password pass] [-p vhost]
               [-q] [-s] [--formatter json] <command> [args]

Commands:
  ${[...Object.keys(LISTS), ...Object.keys(VERBS), ...Object.keys(POLICY_VERBS)].sort().join('\n  ')}
`;

async function runList(inv: Invocation): Promise<string> {
  const spec = LISTS[inv.a.verb];
  if (spec === undefined) throw new CtlError(`unknown command ${inv.a.verb}`, EXIT_USAGE);
  const columns = inv.a.args.length > 0 ? inv.a.args : [...spec.defaults];
  const rows = (await inv.client.get(spec.path(inv.a.vhost))) as unknown[];
  const banner =
    inv.a.verb === 'list_queues'
      ? [`Timeout: ${inv.a.timeoutS.toFixed(1)} seconds ...`, spec.banner(inv.a.vhost)]
      : [spec.banner(inv.a.vhost)];
  return renderList(banner, selectColumns(spec, rows, columns), columns, inv.a.out);
}

/** Runs one command; returns what to print and the exit code (errors are thrown as CtlError). */
export async function runCtl(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ stdout: string; code: number }> {
  const a = parseCtlArgs(argv, env);
  if (a.verb === '' || a.verb === 'help' || a.flags.has('--help') || a.flags.has('-h'))
    return { stdout: USAGE, code: a.verb === '' && !a.flags.has('--help') ? EXIT_USAGE : 0 };
  const client = new CtlClient({ host: a.host, port: a.port, user: a.user, password: a.password, timeoutMs: a.timeoutS * 1000 });
  const inv: Invocation = { a, client };
  const verb = VERBS[a.verb] ?? POLICY_VERBS[a.verb];
  if (verb !== undefined) return verb(inv);
  if (LISTS[a.verb] !== undefined) return { stdout: await runList(inv), code: 0 };
  throw new CtlError(`unknown command '${a.verb}'. Run 'amqpctl help' for the list.`, EXIT_USAGE);
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    const { stdout, code } = await runCtl(argv, process.env);
    process.stdout.write(stdout);
    process.exitCode = code;
  } catch (err) {
    if (!(err instanceof CtlError)) throw err;
    process.stderr.write(`Error: ${err.message}\n`);
    process.exitCode = err.exitCode;
  }
}
