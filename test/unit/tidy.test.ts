/**
 * Tidy: scans src/ for what review keeps catching — imports that point up the layer stack
 * (STYLE §1), console.log, explicit `any`, leftover FIXME/XXX markers, over-long lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(__dirname, '..', '..', 'src');
const LINE_LENGTH_MAX = 140;

/** Which top-level folders of src/ each folder may import at runtime (`import type` is free for broker → codec). */
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

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function layerOf(file: string): string {
  const rel = relative(SRC, file).split(sep);
  return rel.length > 1 ? (rel[0] ?? '.') : '.';
}

const files = sourceFiles(SRC);

describe('tidy', () => {
  it('finds source files to scan', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it('imports follow the layer arrows (no upward runtime imports)', () => {
    const violations: string[] = [];
    for (const file of files) {
      const layer = layerOf(file);
      const allowed = ALLOWED[layer] ?? [];
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*import\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]/gm)) {
        if (m[1]) continue; // type-only imports carry no runtime dependency
        const target = join(file, '..', m[2] ?? '');
        const targetLayer = layerOf(target.endsWith('.js') ? target : `${target}.ts`);
        if (targetLayer === layer || allowed.includes('*') || allowed.includes(targetLayer)) continue;
        violations.push(`${relative(SRC, file)} imports ${m[2]} (${layer} → ${targetLayer})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('has no console.log, explicit any, FIXME or over-long lines in src/', () => {
    const problems: string[] = [];
    for (const file of files) {
      if (file.endsWith('.generated.ts')) continue;
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const where = `${relative(SRC, file)}:${i + 1}`;
        if (/console\.log\(/.test(line)) problems.push(`${where} console.log`);
        if (/(:\s*any\b|as any\b|<any>)/.test(line)) problems.push(`${where} any`);
        if (/\b(FIXME|XXX)\b/.test(line)) problems.push(`${where} FIXME`);
        if (line.length > LINE_LENGTH_MAX) problems.push(`${where} line of ${line.length} chars`);
      });
    }
    expect(problems).toEqual([]);
  });
});
