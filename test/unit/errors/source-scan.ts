/**
 * Finds, in TypeScript source text, the reply codes the code sends and the close reasons it
 * records, for the catalogue test. Regex-based on purpose: it reads the forms the code base uses
 * (see the patterns) and reports a form it cannot resolve instead of skipping it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

/** One place that sends a reply code: by number, by ReplyCode name, or through a helper. */
export type CodeSite =
  | { readonly kind: 'code'; readonly code: number; readonly where: string }
  | { readonly kind: 'name'; readonly name: string; readonly where: string }
  | { readonly kind: 'helper'; readonly helper: string; readonly where: string }
  | { readonly kind: 'unresolved'; readonly expr: string; readonly where: string };

export function readSources(dir: string): SourceFile[] {
  const out: SourceFile[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...readSources(path));
    else if (name.endsWith('.ts')) out.push({ path, text: readFileSync(path, 'utf8') });
  }
  return out;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** `const NAME = ReplyCode.X` or `const NAME = 123` anywhere in the sources. */
function constants(files: readonly SourceFile[]): Map<string, CodeSite> {
  const out = new Map<string, CodeSite>();
  for (const f of files) {
    for (const m of f.text.matchAll(/\bconst\s+([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*(?:ReplyCode\.([A-Z_]+)|(\d{3}))\s*;/g)) {
      const where = `${f.path}:${lineOf(f.text, m.index)}`;
      const site: CodeSite = m[2] !== undefined ? { kind: 'name', name: m[2], where } : { kind: 'code', code: Number(m[3]), where };
      out.set(m[1] as string, site);
    }
  }
  return out;
}

/** What an expression in code position means: `404`, `ReplyCode.NOT_FOUND`, a constant, or unknown. */
function resolve(expr: string, where: string, consts: Map<string, CodeSite>): CodeSite | undefined {
  if (/^\d+$/.test(expr)) return { kind: 'code', code: Number(expr), where };
  const named = /^ReplyCode\.([A-Z_]+)$/.exec(expr);
  if (named) return { kind: 'name', name: named[1] as string, where };
  const c = consts.get(expr);
  if (c !== undefined) return { ...c, where };
  // `err.replyCode`, `a.replyCode`: a code passed on from an error already counted where it was made.
  if (/^[a-z]\w*\.replyCode$/.test(expr)) return undefined;
  return { kind: 'unresolved', expr, where };
}

/**
 * Every code sent in `files`: `new AmqpError(<code>, …)`, `replyCode: <code>` in a method's
 * arguments, and calls of the given error helpers (`notFound(…)`). `definitionsIn` names the file
 * that defines the helpers (skipped: its bodies are not call sites).
 */
export function findCodeSites(files: readonly SourceFile[], helpers: readonly string[], definitionsIn: string): CodeSite[] {
  const consts = constants(files);
  const sites: CodeSite[] = [];
  const helperCall = helpers.length > 0 ? new RegExp(`(?<![\\w.])(${helpers.join('|')})\\(`, 'g') : undefined;
  for (const f of files) {
    if (f.path.endsWith(definitionsIn)) continue; // the helpers' own bodies are not call sites
    for (const m of f.text.matchAll(/new\s+AmqpError\(\s*([\w.]+)|replyCode:\s*([\w.]+)/g)) {
      const expr = (m[1] ?? m[2]) as string;
      if (m[2] !== undefined && /^(number|string)$/.test(expr)) continue; // a type annotation
      // The generated method table copies a peer's replyCode field between bytes and objects.
      if (m[2] !== undefined && f.path.endsWith('.generated.ts')) continue;
      const site = resolve(expr, `${f.path}:${lineOf(f.text, m.index)}`, consts);
      if (site !== undefined) sites.push(site);
    }
    if (helperCall === undefined) continue;
    for (const m of f.text.matchAll(helperCall)) {
      if (/function\s+$/.test(f.text.slice(Math.max(0, m.index - 9), m.index))) continue; // a local definition
      sites.push({ kind: 'helper', helper: m[1] as string, where: `${f.path}:${lineOf(f.text, m.index)}` });
    }
  }
  return sites;
}

/** The text of the call's arguments after `open` (the index just past its '('), split at top-level commas. */
function callArguments(text: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let from = open;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[' || c === '{') depth += 1;
    else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth -= 1;
    else if (c === ')' || (c === ',' && depth === 0)) {
      args.push(text.slice(from, i));
      from = i + 1;
      if (c === ')') return args;
    }
  }
  return args;
}

/**
 * Close reasons recorded: `closeReason = 'x'`, `closeReason ??= c ? 'x' : 'y'`, and the second
 * argument of `closeWithError(e, 'x')` (every string literal in it, so a conditional counts).
 */
export function findCloseReasons(files: readonly SourceFile[]): { reason: string; where: string }[] {
  const out: { reason: string; where: string }[] = [];
  const record = (f: SourceFile, at: number, expr: string): void => {
    for (const lit of expr.matchAll(/'(\w+)'/g)) out.push({ reason: lit[1] as string, where: `${f.path}:${lineOf(f.text, at)}` });
  };
  for (const f of files) {
    for (const m of f.text.matchAll(/closeReason\s*(?:\?\?)?=(?!=)([^;]*);/g)) record(f, m.index, m[1] as string);
    for (const m of f.text.matchAll(/closeWithError\(/g)) {
      const reasonArg = callArguments(f.text, m.index + m[0].length)[1];
      if (reasonArg !== undefined) record(f, m.index, reasonArg);
    }
  }
  return out;
}
