/**
 * HTTP plumbing of the management API: the request a route handler sees, the reply it returns,
 * RabbitMQ's error body `{"error","reason"}`, basic-auth parsing, JSON bodies (bounded), and the
 * "true"/"false" strings rabbitmqadmin sends for booleans.
 *
 * Invariant: every failure a handler throws is an ApiError (or an AmqpError from the engine,
 * mapped here to the status RabbitMQ's API gives); nothing else reaches the client as a 500
 * without being logged. Not here: routing and auth decisions (server.ts).
 */
import type { IncomingMessage } from 'node:http';
import { AmqpError } from '../errors/index.js';
import type { UserInfo } from './users.js';

/** Largest request body accepted (definitions imports are the biggest), bytes. */
export const BODY_MAX_BYTES = 64 * 1024 * 1024;

export interface ApiRequest {
  readonly method: string;
  /** Path parameters, percent-decoded (`%2F` is `/`). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly user: UserInfo;
  /** The parsed JSON body ({} when empty). */
  body(): Promise<Record<string, unknown>>;
}

export interface ApiReply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(reason, options);
  }
}

export const badRequest = (reason: string): ApiError => new ApiError(400, 'bad_request', reason);
export const notFound = (reason = 'Not Found'): ApiError => new ApiError(404, 'Object Not Found', reason);

export const ok = (body: unknown): ApiReply => ({ status: 200, body });
export const created = (headers: Record<string, string> = {}): ApiReply => ({ status: 201, headers });
export const noContent = (): ApiReply => ({ status: 204 });

/** Maps an engine error (AMQP reply code) to RabbitMQ's management status. */
export function fromAmqpError(err: AmqpError): ApiError {
  switch (err.replyCode) {
    case 404:
      return new ApiError(404, 'Object Not Found', err.replyText);
    case 403:
      return new ApiError(403, 'access_refused', err.replyText);
    case 405:
      return new ApiError(400, 'resource_locked', err.replyText);
    default:
      return new ApiError(400, 'bad_request', err.replyText);
  }
}

export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof AmqpError) return fromAmqpError(err);
  return undefined;
}

/** `Authorization: Basic …` → [user, password], or undefined. */
export function parseBasicAuth(header: string | undefined): [string, string] | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m === null) return undefined;
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : [text.slice(0, colon), text.slice(colon + 1)];
}

/** A boolean field as RabbitMQ accepts it: true/false or the strings "true"/"false". */
export function boolField(body: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw badRequest(`${key} must be a boolean`);
}

export function stringField(body: Record<string, unknown>, key: string, dflt: string): string {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string') throw badRequest(`${key} must be a string`);
  return v;
}

export function intField(body: Record<string, unknown>, key: string, dflt: number): number {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw badRequest(`${key} must be an integer`);
  return n;
}

/** Reads the whole body (at most BODY_MAX_BYTES) and parses it as a JSON object. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > BODY_MAX_BYTES) throw new ApiError(413, 'bad_request', 'request body too large');
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest('failed to decode json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('JSON body must be an object');
  return parsed as Record<string, unknown>;
}
