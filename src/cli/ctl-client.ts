/**
 * amqpctl's HTTP client for the management API: basic auth, JSON in and out, a timeout, and
 * errors a shell user can read (broker down, login refused, RabbitMQ's `reason` texts).
 *
 * Invariant: every failure is a CtlError with rabbitmqctl's exit code (69 unavailable, 64 usage,
 * 70 software error); nothing prints here. Not here: verbs and output formats (amqpctl.ts).
 */
export const EXIT_USAGE = 64;
export const EXIT_UNAVAILABLE = 69;
export const EXIT_SOFTWARE = 70;

export class CtlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly timeoutMs: number;
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

export class CtlClient {
  constructor(readonly opts: ClientOptions) {}

  get base(): string {
    const h = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `http://${h}:${this.opts.port}`;
  }

  /** One call; `okStatuses` other than 2xx are returned too (health checks answer 503). */
  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    okStatuses: readonly number[] = [],
  ): Promise<Reply> {
    const auth = Buffer.from(`${this.opts.user}:${this.opts.password}`).toString('base64');
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Basic ${auth}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new CtlError(
        `cannot reach the broker's management API at ${this.base} (${cause}): is amqpd running, with --management-port ${this.opts.port}?`,
        EXIT_UNAVAILABLE,
      );
    }
    const text = await res.text();
    const parsed: unknown = text === '' ? undefined : safeJson(text);
    if (res.ok || okStatuses.includes(res.status)) return { status: res.status, body: parsed };
    const reason = typeof parsed === 'object' && parsed !== null ? reasonOf((parsed as Record<string, unknown>)['reason'], text) : text;
    if (res.status === 401) throw new CtlError(`access refused for user '${this.opts.user}' (${reason})`, EXIT_UNAVAILABLE);
    if (res.status === 404) throw new CtlError(`not found: ${reason}`, EXIT_SOFTWARE);
    throw new CtlError(`${res.status}: ${reason}`, EXIT_SOFTWARE);
  }

  async get(path: string): Promise<unknown> {
    return (await this.call('GET', path)).body;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function reasonOf(r: unknown, fallback: string): string {
  return typeof r === 'string' ? r : fallback;
}
