/**
 * An exchange: its declared attributes, the bindings where it is the source (indexed by its
 * type's router), and the bindings where it is the destination (exchange-to-exchange).
 *
 * Invariant: `bindings` (by identity key) and the router hold the same set of bindings;
 * `boundFrom` holds exactly the live bindings whose destination is this exchange. Deliberately no
 * e2e traversal or persistence here: the vhost owns both, because both span several entities.
 */
import type { FieldTable } from '../codec/field-types.js';
import type { Binding } from './binding.js';
import { MessageCounters } from './counters.js';
import { createRouter, type ExchangeRouter } from './exchanges/index.js';
import { stringArg } from './field-values.js';
import type { PolicyMatch, PolicyTarget } from './policies.js';

export interface ExchangeAttributes {
  readonly name: string;
  readonly type: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
}

export class Exchange implements PolicyTarget {
  readonly kind = 'exchange' as const;
  readonly name: string;
  readonly type: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
  /** Name of the alternate exchange (argument `alternate-exchange`, else a policy's), if any. */
  alternateExchange: string | undefined;
  /** The policy that applies (policies.ts), if any. */
  policyMatch: PolicyMatch | undefined = undefined;
  readonly router: ExchangeRouter;
  readonly bindings = new Map<string, Binding>();
  readonly boundFrom = new Set<Binding>();
  deleted = false;
  /** Messages in / routed out / unroutable here (routing.ts counts them). */
  readonly counters = new MessageCounters();

  /** `router`: the type's router by default; a wrapper (custody, tests) may be given instead. */
  constructor(attrs: ExchangeAttributes, router: ExchangeRouter = createRouter(attrs.type)) {
    this.name = attrs.name;
    this.type = attrs.type;
    this.durable = attrs.durable;
    this.autoDelete = attrs.autoDelete;
    this.internal = attrs.internal;
    this.arguments = attrs.arguments;
    this.alternateExchange = stringArg(attrs.arguments, 'alternate-exchange');
    this.router = router;
  }

  /** A policy change: the argument wins, else the policy's alternate-exchange (rabbit_policy:get_arg). */
  applyPolicy(match: PolicyMatch | undefined): void {
    this.policyMatch = match;
    this.alternateExchange = stringArg(match?.arguments ?? this.arguments, 'alternate-exchange');
  }

  addBinding(b: Binding): void {
    this.bindings.set(b.key, b);
    this.router.add(b);
  }

  removeBinding(b: Binding): void {
    this.bindings.delete(b.key);
    this.router.remove(b);
  }
}

// The exchange end of a binding (binding.ts: BindingEnds).
declare module './binding.js' { interface BindingEnds { exchange: Exchange } } // prettier-ignore
