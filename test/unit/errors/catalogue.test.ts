/**
 * The reply-code and close-reason catalogues (src/errors) are complete and truthful: every code
 * the code sends and every close reason it records is listed, every entry marked as sent is sent,
 * and the hard/soft column agrees with the AMQP 0-9-1 spec.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as errors from '../../../src/errors/index.js';
import { AmqpError, CLOSE_REASONS, REPLY_CODES, isSoftError, replyCodeName } from '../../../src/errors/index.js';
import { findCloseReasons, findCodeSites, readSources, type CodeSite, type SourceFile } from './source-scan.js';

const SRC = join(__dirname, '..', '..', '..', 'src');
const HELPERS_FILE = join('errors', 'amqp-error.ts');

/** The exported helpers (`notFound(text)` …) and the code each one makes. */
const HELPER_CODES: ReadonlyMap<string, number> = new Map(
  Object.entries(errors).flatMap(([name, fn]): [string, number][] => {
    if (typeof fn !== 'function' || fn === AmqpError) return [];
    try {
      const made: unknown = (fn as (text: string) => unknown)('x');
      return made instanceof AmqpError ? [[name, made.replyCode]] : [];
    } catch {
      return [];
    }
  }),
);

function codeOf(site: CodeSite): number | undefined {
  switch (site.kind) {
    case 'code':
      return site.code;
    case 'name':
      return REPLY_CODES.find((e) => e.name === site.name)?.code;
    case 'helper':
      return HELPER_CODES.get(site.helper);
    default:
      return undefined;
  }
}

/** Sites whose code is not in the catalogue (or cannot be told), as readable lines. */
function missing(sites: readonly CodeSite[]): string[] {
  const known = new Set<number>(REPLY_CODES.map((e) => e.code));
  return sites.flatMap((s) => {
    const code = codeOf(s);
    if (code !== undefined && known.has(code)) return [];
    return [`${s.where}: ${JSON.stringify(s)}`];
  });
}

function scan(files: readonly SourceFile[]): CodeSite[] {
  return findCodeSites(files, [...HELPER_CODES.keys()], HELPERS_FILE);
}

const sources = readSources(SRC);
const sites = scan(sources);

describe('reply-code catalogue', () => {
  it('finds the helpers and the places that send codes', () => {
    expect([...HELPER_CODES.keys()]).toContain('notFound');
    expect(HELPER_CODES.get('preconditionFailed')).toBe(406);
    expect(sites.length).toBeGreaterThan(50);
  });

  it('lists every code that src/ sends', () => {
    expect(missing(sites)).toEqual([]);
  });

  it('marks as sent exactly the codes that src/ sends', () => {
    const sent = new Set(sites.map(codeOf));
    const wrong = REPLY_CODES.filter((e) => e.sent !== sent.has(e.code)).map((e) => `${e.code} ${e.name} sent=${e.sent}`);
    expect(wrong).toEqual([]);
  });

  it('fails on a code that is not in the catalogue, in any of the forms it reads', () => {
    const fake: SourceFile = {
      path: 'fake.ts',
      text: [
        "throw new AmqpError(599, 'made up');",
        "const BAD = 598; throw new AmqpError(BAD, 'x');",
        "send(method('channel.close', { replyCode: 597, replyText: 'x', classId: 0, methodId: 0 }));",
        "throw new AmqpError(ReplyCode.NOT_A_CODE, 'x');",
        "throw new AmqpError(someCode, 'x');",
        "throw notFound('fine');",
      ].join('\n'),
    };
    const found = missing(scan([fake]));
    expect(found).toHaveLength(5);
    expect(found.join('\n')).toMatch(/599[\s\S]*598[\s\S]*597[\s\S]*NOT_A_CODE[\s\S]*someCode/);
  });

  it('agrees with the spec on names and on which codes are soft (close the channel)', () => {
    const spec: Record<number, string> = {
      200: 'REPLY_SUCCESS', 311: 'CONTENT_TOO_LARGE', 312: 'NO_ROUTE', 313: 'NO_CONSUMERS',
      320: 'CONNECTION_FORCED', 402: 'INVALID_PATH', 403: 'ACCESS_REFUSED', 404: 'NOT_FOUND',
      405: 'RESOURCE_LOCKED', 406: 'PRECONDITION_FAILED', 501: 'FRAME_ERROR', 502: 'SYNTAX_ERROR',
      503: 'COMMAND_INVALID', 504: 'CHANNEL_ERROR', 505: 'UNEXPECTED_FRAME', 506: 'RESOURCE_ERROR',
      530: 'NOT_ALLOWED', 540: 'NOT_IMPLEMENTED', 541: 'INTERNAL_ERROR',
    };
    const softInSpec = [311, 312, 313, 403, 404, 405, 406];
    expect(Object.fromEntries(REPLY_CODES.map((e) => [e.code, e.name]))).toEqual(spec);
    for (const e of REPLY_CODES) {
      expect(isSoftError(e.code), `${e.code}`).toBe(softInSpec.includes(e.code));
      expect(e.kind === 'soft', `${e.code}`).toBe(softInSpec.includes(e.code));
      expect(replyCodeName(e.code)).toBe(e.name);
      expect(e.use.length, `${e.code} has a use line`).toBeGreaterThan(10);
    }
  });

  it('has one helper per sent error code, named after it', () => {
    for (const [helper, code] of HELPER_CODES) {
      const name = replyCodeName(code) ?? '';
      const camel = name.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
      expect(helper, `${helper} makes ${code}`).toBe(camel);
    }
  });
});

describe('close-reason catalogue', () => {
  const recorded = findCloseReasons(sources);

  it('finds the reasons src/ records', () => {
    expect(recorded.map((r) => r.reason)).toContain('heartbeatTimeout');
  });

  it('lists every close reason that src/ records, and records every one it lists', () => {
    const listed = new Set(Object.keys(CLOSE_REASONS));
    expect(recorded.filter((r) => !listed.has(r.reason))).toEqual([]);
    const used = new Set(recorded.map((r) => r.reason));
    expect([...listed].filter((r) => !used.has(r))).toEqual([]);
  });

  it('fails on a reason that is not listed, in the forms it reads', () => {
    const fake: SourceFile = {
      path: 'fake.ts',
      text: [
        "this.closeReason = 'madeUp';",
        "this.closeReason ??= ok ? 'clientClose' : 'alsoMadeUp';",
        "this.closeWithError(internalError(text), 'thirdOne', 10);",
        "this.closeWithError(err, err.replyCode === ReplyCode.FRAME_ERROR ? 'fourth' : 'fifth');",
        "private closeWithError(err: AmqpError, reason: CloseReason): void {",
      ].join('\n'),
    };
    const reasons = findCloseReasons([fake]).map((r) => r.reason);
    expect(reasons).toEqual(['madeUp', 'clientClose', 'alsoMadeUp', 'thirdOne', 'fourth', 'fifth']);
  });
});
