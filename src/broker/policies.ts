/**
 * Policies and operator policies as RabbitMQ applies them (../shared/reference/rabbitmq-extensions.md
 * §11, rabbitmq-operations.md §4; checked on the live 3.10.8): per vhost, a policy matches a queue
 * or exchange when its apply-to fits and its pattern (a regex, unanchored) matches the name; only
 * the highest-priority match applies, ties going to the policy defined first (what 3.10 showed);
 * the same for operator policies, separately. The two merge per key (numbers: the lower wins), and
 * then meet the entity's own arguments: for message-ttl, expires, max-length, max-length-bytes and
 * delivery-limit the lower value wins, for the other keys the x-argument wins.
 *
 * The result is a PolicyMatch: the policies that apply, the merged definition (management's
 * `effective_policy_definition`) and the effective argument table (`x-` keys) that the queue
 * features read (queue.ts `applyPolicy`). A change (set, clear) is applied to every queue and
 * exchange of the vhost at once. Policies are stored (store.savePolicy) and loaded at open.
 *
 * Invariant: an entity no policy matches gets `undefined` and keeps its own argument table (the
 * plain path does no extra work). Not here: validation texts (policy-rules.ts), HTTP.
 */
import type { FieldTable, FieldValue } from '../codec/field-types.js';
import type { Store } from '../store/store.js';
import { compilePolicyPattern, type Policy, type PolicyKind, type PolicyValue } from './policy-rules.js';

export type { Policy, PolicyKind } from './policy-rules.js';

/** Definition keys that change a queue, and how they meet an x-argument. */
const MIN_KEYS: readonly string[] = ['message-ttl', 'expires', 'max-length', 'max-length-bytes', 'delivery-limit'];
const ARG_WINS_KEYS: readonly string[] = ['dead-letter-exchange', 'dead-letter-routing-key', 'overflow'];

export interface PolicyMatch {
  readonly policy: Policy | undefined;
  readonly operator: Policy | undefined;
  /** The user and operator definitions merged (management's effective_policy_definition). */
  readonly definition: Readonly<Record<string, PolicyValue>>;
  /** The entity's arguments with the policy keys applied (`x-` names), what the features read. */
  readonly arguments: FieldTable;
}

/** An entity the policies apply to (queue.ts and exchange.ts implement it). */
export interface PolicyTarget {
  readonly name: string;
  readonly arguments: FieldTable;
  readonly policyMatch: PolicyMatch | undefined;
  applyPolicy(match: PolicyMatch | undefined): void;
}

/** What a vhost offers for a sweep: its queues and exchanges. */
export interface PolicyScope {
  queueTargets(): Iterable<PolicyTarget>;
  exchangeTargets(): Iterable<PolicyTarget>;
}

interface Compiled {
  readonly policy: Policy;
  readonly re: RegExp;
}

const mapKey = (vhost: string, kind: PolicyKind): string => `${kind}\u0000${vhost}`;

export class Policies {
  /** Per (kind, vhost): policies by name, in definition order (ties go to the first). */
  private readonly byVhost = new Map<string, Map<string, Compiled>>();

  constructor(
    private readonly store: Store,
    /** The vhost's entities, for applying a change at once (undefined: no such vhost). */
    private readonly scope: (vhost: string) => PolicyScope | undefined,
  ) {}

  /** At open, before the vhosts are restored: the stored policies. */
  load(): void {
    for (const p of this.store.listPolicies()) this.remember(p);
  }

  /** Creates or replaces a policy; true when it was new. Applied to the vhost's entities at once. */
  set(p: Policy): boolean {
    const isNew = this.table(p.vhost, p.kind)?.get(p.name) === undefined;
    this.remember(p);
    this.store.savePolicy(p);
    this.sweep(p.vhost);
    return isNew;
  }

  /** Clears a policy; false when there was none. */
  clear(kind: PolicyKind, vhost: string, name: string): boolean {
    const t = this.table(vhost, kind);
    if (t?.delete(name) !== true) return false;
    if (t.size === 0) this.byVhost.delete(mapKey(vhost, kind));
    this.store.deletePolicy(vhost, kind, name);
    this.sweep(vhost);
    return true;
  }

  get(kind: PolicyKind, vhost: string, name: string): Policy | undefined {
    return this.table(vhost, kind)?.get(name)?.policy;
  }

  /** The policies of one kind, of one vhost or of all, in definition order per vhost. */
  list(kind: PolicyKind, vhost?: string): Policy[] {
    const out: Policy[] = [];
    for (const [k, t] of this.byVhost) {
      if (!k.startsWith(`${kind}\u0000`) || (vhost !== undefined && k !== mapKey(vhost, kind))) continue;
      for (const c of t.values()) out.push(c.policy);
    }
    return out;
  }

  /** The vhost was deleted (its stored rows went with it). */
  forgetVhost(vhost: string): void {
    this.byVhost.delete(mapKey(vhost, 'policy'));
    this.byVhost.delete(mapKey(vhost, 'operator'));
  }

  /** What applies to queue `name` with `args`; undefined when no policy matches. */
  forQueue(vhost: string, name: string, args: FieldTable): PolicyMatch | undefined {
    return this.match(vhost, name, 'queues', args);
  }

  forExchange(vhost: string, name: string, args: FieldTable): PolicyMatch | undefined {
    return this.match(vhost, name, 'exchanges', args);
  }

  /** Re-applies the vhost's policies to each of its queues and exchanges whose match changed. */
  sweep(vhost: string): void {
    const scope = this.scope(vhost);
    if (scope === undefined) return;
    for (const q of scope.queueTargets()) this.reapply(q, this.forQueue(vhost, q.name, q.arguments));
    for (const x of scope.exchangeTargets()) this.reapply(x, this.forExchange(vhost, x.name, x.arguments));
  }

  private reapply(t: PolicyTarget, m: PolicyMatch | undefined): void {
    const old = t.policyMatch;
    if (old === undefined && m === undefined) return;
    if (old !== undefined && m !== undefined && old.policy === m.policy && old.operator === m.operator) return;
    t.applyPolicy(m);
  }

  private match(vhost: string, name: string, what: 'queues' | 'exchanges', args: FieldTable): PolicyMatch | undefined {
    if (this.byVhost.size === 0) return undefined; // no policy anywhere: a declare pays one check
    const policy = best(this.table(vhost, 'policy'), name, what);
    const operator = best(this.table(vhost, 'operator'), name, what);
    if (policy === undefined && operator === undefined) return undefined;
    const definition = mergeDefinitions(policy?.definition, operator?.definition);
    return { policy, operator, definition, arguments: effectiveArguments(args, definition) };
  }

  private table(vhost: string, kind: PolicyKind): Map<string, Compiled> | undefined {
    return this.byVhost.get(mapKey(vhost, kind));
  }

  private remember(p: Policy): void {
    const k = mapKey(p.vhost, p.kind);
    let t = this.byVhost.get(k);
    if (t === undefined) this.byVhost.set(k, (t = new Map<string, Compiled>()));
    t.set(p.name, { policy: p, re: compilePolicyPattern(p.pattern) });
  }
}

/** The highest-priority policy of `t` matching `name` (the first defined among equals). */
function best(t: ReadonlyMap<string, Compiled> | undefined, name: string, what: 'queues' | 'exchanges'): Policy | undefined {
  if (t === undefined) return undefined;
  let found: Policy | undefined;
  for (const { policy, re } of t.values()) {
    if (policy.applyTo !== 'all' && policy.applyTo !== what) continue;
    if (found !== undefined && policy.priority <= found.priority) continue;
    re.lastIndex = 0;
    if (re.test(name)) found = policy;
  }
  return found;
}

/** User and operator definitions per key: both numbers → the lower; else the operator's value. */
export function mergeDefinitions(
  user: Readonly<Record<string, PolicyValue>> | undefined,
  op: Readonly<Record<string, PolicyValue>> | undefined,
): Record<string, PolicyValue> {
  const out: Record<string, PolicyValue> = { ...user };
  for (const [k, v] of Object.entries(op ?? {})) {
    const mine = out[k];
    out[k] = typeof mine === 'number' && typeof v === 'number' ? Math.min(mine, v) : v;
  }
  return out;
}

const numberOf = (v: FieldValue | undefined): number | undefined =>
  v === undefined || !['b', 'B', 's', 'u', 'I', 'i', 'l'].includes(v.tag) ? undefined : Number(v.value);

/** The entity's arguments with the definition applied: lower wins for MIN_KEYS, the argument for the rest. */
export function effectiveArguments(args: FieldTable, def: Readonly<Record<string, PolicyValue>>): FieldTable {
  const out = new Map(args);
  for (const key of MIN_KEYS) {
    const v = def[key];
    if (typeof v !== 'number') continue;
    const own = numberOf(args.get(`x-${key}`));
    out.set(`x-${key}`, { tag: 'l', value: BigInt(own === undefined ? v : Math.min(own, v)) });
  }
  for (const key of ARG_WINS_KEYS) {
    const v = def[key];
    if (typeof v === 'string' && !args.has(`x-${key}`)) out.set(`x-${key}`, { tag: 'S', value: Buffer.from(v) });
  }
  const ae = def['alternate-exchange'];
  if (typeof ae === 'string' && !args.has('alternate-exchange')) out.set('alternate-exchange', { tag: 'S', value: Buffer.from(ae) });
  return out;
}
