/**
 * Tidy: scans src/ for what review keeps catching — imports that point up the layer stack
 * (STYLE §1, type-only imports included), import cycles, functions over ~70 lines, modules over
 * 450 lines, console.log, explicit `any`, leftover FIXME/XXX markers, over-long lines. Each check
 * is also run on made-up sources that break it, so it is seen to fail.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { functionSizes, importCycles, importsOf, lineCount, readModules, type ImportEdge, type Module } from './tidy-scan.js';

const SRC = join(__dirname, '..', '..', 'src');
const LINE_LENGTH_MAX = 140;
/** STYLE §5 "a function fits on a screen (~70 lines)": lines of the body, braces included. */
const FUNCTION_LINES_MAX = 70;
/** STYLE / README: every module under src/ stays within 450 lines. */
const MODULE_LINES_MAX = 450;
/** Generated code is exempt from the size limits (STYLE §2: the method table is data). */
const isGenerated = (path: string): boolean => path.endsWith('.generated.ts');

/** Which top-level folders of src/ each folder may import (runtime or type). */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  errors: [],
  log: [],
  codec: ['util', 'errors'],
  store: ['util', 'errors'],
  broker: ['store', 'util', 'errors'],
  protocol: ['codec', 'broker', 'util', 'errors', 'log'],
  config: ['util'],
  management: ['broker', 'util', 'log', 'errors'],
  server: ['*'],
  cli: ['config', 'server', 'log', 'util', 'errors'],
  '.': ['*'],
};
/** STYLE §1: the only upward arrow, and only for types: the broker names codec's value shapes. */
const ALLOWED_TYPE_ONLY: Record<string, readonly string[]> = {
  broker: ['codec'],
};

/**
 * Modules allowed over the limit for now (a ratchet: an entry may not grow, and must be removed once
 * its module is within the limit). Empty since the engine reshape (issue 10).
 */
const PENDING_LONG_MODULES: ReadonlyMap<string, number> = new Map();
/** Import cycles allowed for now (same ratchet); empty since binding.ts takes its ends by declaration merging. */
const PENDING_CYCLES: readonly string[] = [];

function layerOf(path: string): string {
  const parts = path.split('/');
  return parts.length > 1 ? (parts[0] ?? '.') : '.';
}

/** Edges that point the wrong way, as readable lines. */
function layerViolations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    const allowed = ALLOWED[from] ?? [];
    if (from === to || allowed.includes('*') || allowed.includes(to)) continue;
    if (e.typeOnly && (ALLOWED_TYPE_ONLY[from] ?? []).includes(to)) continue;
    out.push(`${e.from}:${e.line} imports ${e.typeOnly ? 'type ' : ''}${e.specifier} (${from} → ${to})`);
  }
  return out;
}

function longFunctions(modules: readonly Module[]): string[] {
  return modules
    .filter((m) => !isGenerated(m.path))
    .flatMap(functionSizes)
    .filter((f) => f.lines > FUNCTION_LINES_MAX)
    .map((f) => `${f.path}:${f.line} ${f.name} has ${f.lines} lines`);
}

/** Modules over the limit, checked against the ratchet list. */
function moduleSizeProblems(modules: readonly Module[], pending: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const m of modules) {
    if (isGenerated(m.path)) continue;
    const lines = lineCount(m.text);
    const allowance = pending.get(m.path);
    if (allowance === undefined && lines > MODULE_LINES_MAX) out.push(`${m.path} has ${lines} lines`);
    if (allowance !== undefined && lines > allowance) out.push(`${m.path} grew to ${lines} lines (pending at ${allowance})`);
    if (allowance !== undefined && lines <= MODULE_LINES_MAX) out.push(`${m.path} is within the limit: remove it from the pending list`);
  }
  for (const path of pending.keys()) {
    if (!modules.some((m) => m.path === path)) out.push(`${path} is gone: remove it from the pending list`);
  }
  return out;
}

function cycleProblems(modules: readonly Module[], pending: readonly string[]): string[] {
  const found = importCycles(modules).map((c) => c.join(' → '));
  return [
    ...found.filter((c) => !pending.includes(c)).map((c) => `import cycle: ${c}`),
    ...pending.filter((c) => !found.includes(c)).map((c) => `cycle no longer there, remove it from the pending list: ${c}`),
  ];
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const files = sourceFiles(SRC);
const modules = readModules(SRC);
const fake = (path: string, ...lines: string[]): Module => ({ path, text: lines.join('\n') });

describe('tidy', () => {
  it('finds source files to scan', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(modules.length).toBe(files.length);
    expect(modules.flatMap(importsOf).length).toBeGreaterThan(100);
  });

  it('imports follow the layer arrows, type-only imports included', () => {
    expect(layerViolations(modules.flatMap(importsOf))).toEqual([]);
  });

  it('the layer check reads every import form and flags upward ones, types too', () => {
    const edges = [
      fake('codec/a.ts', "import type { Queue } from '../broker/queue.js';"),
      fake('broker/a.ts', "import { decodeTable } from '../codec/field-table.js';"),
      fake('broker/b.ts', "import { type Method, type Frame } from '../codec/index.js';"),
      fake('store/a.ts', "export { x } from '../broker/x.js';", "type T = import('../protocol/channel.js').Channel;"),
      fake('util/a.ts', "export type { FieldValue } from '../codec/field-types.js';"),
      fake('errors/a.ts', "const m = await import('../log/index.js');"),
    ].flatMap(importsOf);
    expect(layerViolations(edges)).toEqual([
      'codec/a.ts:1 imports type ../broker/queue.js (codec → broker)',
      'broker/a.ts:1 imports ../codec/field-table.js (broker → codec)',
      'store/a.ts:1 imports ../broker/x.js (store → broker)',
      'store/a.ts:2 imports type ../protocol/channel.js (store → protocol)',
      'util/a.ts:1 imports type ../codec/field-types.js (util → codec)',
      'errors/a.ts:1 imports ../log/index.js (errors → log)',
    ]);
  });

  it('has no import cycles in src/, type-only imports included (beyond the pending ones)', () => {
    expect(cycleProblems(modules, PENDING_CYCLES)).toEqual([]);
  });

  it('the cycle check finds a cycle made of type-only imports, and a self-import', () => {
    const cyclic = [
      fake('a.ts', "import type { B } from './b.js';"),
      fake('b.ts', "import type { C } from './sub/c.js';"),
      fake('sub/c.ts', "export type { A } from '../a.js';"),
      fake('d.ts', "import { a } from './a.js';"),
      fake('e.ts', "import { e } from './e.js';"),
    ];
    expect(importCycles(cyclic)).toEqual([['a.ts', 'b.ts', 'sub/c.ts'], ['e.ts']]);
    expect(cycleProblems(cyclic, [])).toHaveLength(2);
  });

  it(`has no function over ${FUNCTION_LINES_MAX} lines in src/ (generated code aside)`, () => {
    expect(longFunctions(modules)).toEqual([]);
  });

  it('the function check measures functions, methods, accessors and arrow functions', () => {
    const body = (n: number): string => Array.from({ length: n - 2 }, (_, i) => `  x += ${i};`).join('\n');
    const sizes = functionSizes(
      fake(
        'x.ts',
        `function long(): void {\n${body(FUNCTION_LINES_MAX + 1)}\n}`,
        `class K {\n  method(): void {\n${body(FUNCTION_LINES_MAX)}\n  }\n  get g(): number {\n    return 1;\n  }\n}`,
        `const arrow = (): void => {\n${body(5)}\n};`,
      ),
    );
    expect(sizes.map((f) => [f.name, f.lines])).toEqual([
      ['long', FUNCTION_LINES_MAX + 1],
      ['K.method', FUNCTION_LINES_MAX],
      ['K.g', 3],
      ['arrow', 5],
    ]);
    expect(longFunctions([fake('x.ts', `function long(): void {\n${body(FUNCTION_LINES_MAX + 1)}\n}`)])).toHaveLength(1);
  });

  it(`has no module over ${MODULE_LINES_MAX} lines in src/ (beyond the pending ones, which may not grow)`, () => {
    expect(moduleSizeProblems(modules, PENDING_LONG_MODULES)).toEqual([]);
  });

  it('the module check flags a long module, a pending one that grew, and a pending one now fixed', () => {
    const lines = (n: number): string => 'x\n'.repeat(n);
    const problems = moduleSizeProblems(
      [fake('a.ts', lines(MODULE_LINES_MAX + 1)), fake('b.ts', lines(600)), fake('c.ts', lines(10)), fake('m.generated.ts', lines(5000))],
      new Map([['b.ts', 599], ['c.ts', 500]]),
    );
    expect(problems).toEqual([
      `a.ts has ${MODULE_LINES_MAX + 1} lines`,
      'b.ts grew to 600 lines (pending at 599)',
      'c.ts is within the limit: remove it from the pending list',
    ]);
  });

  it('has no console.log, explicit any, FIXME or over-long lines in src/', () => {
    const problems: string[] = [];
    for (const file of files) {
      if (file.endsWith('.generated.ts')) continue;
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const where = `${relative(SRC, file).split(sep).join('/')}:${i + 1}`;
        if (/console\.log\(/.test(line)) problems.push(`${where} console.log`);
        if (/(:\s*any\b|as any\b|<any>)/.test(line)) problems.push(`${where} any`);
        if (/\b(FIXME|XXX)\b/.test(line)) problems.push(`${where} FIXME`);
        if (line.length > LINE_LENGTH_MAX) problems.push(`${where} line of ${line.length} chars`);
      });
    }
    expect(problems).toEqual([]);
  });
});
