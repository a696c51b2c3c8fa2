/**
 * amqpctl's policy verbs, with rabbitmqctl's arguments and output: set_policy / set_operator_policy
 * `[-p vhost] [--priority n] [--apply-to queues|exchanges|all] <name> <pattern> <definition>`,
 * clear_policy / clear_operator_policy `[-p vhost] <name>`, list_policies / list_operator_policies.
 * A refused policy prints RabbitMQ's validation text and exits 69, as rabbitmqctl does; clearing
 * a missing one prints `Parameter does not exist` (69).
 *
 * Invariant: HTTP calls only (/api/policies, /api/operator-policies). Not here: parsing (amqpctl.ts).
 */
import { CtlError, EXIT_UNAVAILABLE, EXIT_USAGE } from './ctl-client.js';
import { renderList } from './ctl-output.js';
import type { Invocation } from './ctl-verbs.js';

type Result = { stdout: string; code: number };
type Verb = (inv: Invocation) => Promise<Result>;

const COLUMNS = ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'];
const e = encodeURIComponent;

interface Flavour {
  readonly base: string;
  /** "policy" / "operator policy override" (set), "policy" / "operator policy" (clear). */
  readonly setNoun: string;
  readonly clearNoun: string;
  readonly listBanner: string;
}

const USER: Flavour = { base: '/api/policies', setNoun: 'policy', clearNoun: 'policy', listBanner: 'policies' };
const OPERATOR: Flavour = {
  base: '/api/operator-policies',
  setNoun: 'operator policy override',
  clearNoun: 'operator policy',
  listBanner: 'operator policy overrides',
};

const say = (inv: Invocation, line: string): string => (inv.a.out.quiet ? '' : `${line}\n`);
const unescape = (s: string): string => s.replaceAll('&lt;', '<').replaceAll('&gt;', '>');

function refusal(body: unknown, fallback: string): CtlError {
  const reason = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['reason'] : undefined;
  return new CtlError(`\n${unescape(typeof reason === 'string' ? reason : fallback).trimEnd()}`, EXIT_UNAVAILABLE);
}

const setPolicy =
  (f: Flavour): Verb =>
  async (inv) => {
    const [name, pattern, defText] = inv.a.args;
    if (name === undefined || pattern === undefined || defText === undefined) {
      throw new CtlError(`usage: amqpctl ${inv.a.verb} [-p vhost] [--priority n] [--apply-to a] <name> <pattern> <definition>`, EXIT_USAGE);
    }
    const priority = inv.a.options['priority'] ?? '0';
    const what = `${f.setNoun} "${name}" for pattern "${pattern}" to "${defText}"`;
    const banner = `Setting ${what} with priority "${priority}" for vhost "${inv.a.vhost}" ...`;
    let definition: unknown;
    try {
      definition = JSON.parse(defText);
    } catch {
      throw new CtlError(`${banner}\nError:\n"${defText}" is not valid JSON`, EXIT_USAGE);
    }
    const body = { pattern, definition, priority: Number(priority), 'apply-to': inv.a.options['apply-to'] ?? 'all' };
    const r = await inv.client.call('PUT', `${f.base}/${e(inv.a.vhost)}/${e(name)}`, body, {}, [400]);
    if (r.status === 400) throw refusal(r.body, 'Validation failed');
    return { stdout: say(inv, banner), code: 0 };
  };

const clearPolicy =
  (f: Flavour): Verb =>
  async (inv) => {
    const [name] = inv.a.args;
    if (name === undefined) throw new CtlError(`usage: amqpctl ${inv.a.verb} [-p vhost] <name>`, EXIT_USAGE);
    const r = await inv.client.call('DELETE', `${f.base}/${e(inv.a.vhost)}/${e(name)}`, undefined, {}, [404]);
    if (r.status === 404) throw new CtlError('\nParameter does not exist', EXIT_UNAVAILABLE);
    return { stdout: say(inv, `Clearing ${f.clearNoun} "${name}" on vhost "${inv.a.vhost}" ...`), code: 0 };
  };

const listPolicies =
  (f: Flavour): Verb =>
  async (inv) => {
    const rows = (await inv.client.get(`${f.base}/${e(inv.a.vhost)}`)) as Record<string, unknown>[];
    const shown = rows.map((p) => ({ ...p, definition: JSON.stringify(p['definition']) }));
    const banner = [`Listing ${f.listBanner} for vhost "${inv.a.vhost}" ...`];
    return { stdout: renderList(banner, shown, COLUMNS, inv.a.out), code: 0 };
  };

export const POLICY_VERBS: Readonly<Record<string, Verb>> = {
  set_policy: setPolicy(USER),
  clear_policy: clearPolicy(USER),
  list_policies: listPolicies(USER),
  set_operator_policy: setPolicy(OPERATOR),
  clear_operator_policy: clearPolicy(OPERATOR),
  list_operator_policies: listPolicies(OPERATOR),
};
