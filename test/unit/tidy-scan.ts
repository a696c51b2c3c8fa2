/**
 * Source analysis for the tidy test, with the TypeScript compiler API (already a dependency):
 * the relative imports of each module (type-only or not, re-exports and `import('…')` types
 * included), import cycles, function lengths and module lengths. Pure functions over text, so
 * the test can also feed them made-up sources and see them fail.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export interface Module {
  /** Path relative to the source root, with '/' separators: 'broker/queue.ts'. */
  readonly path: string;
  readonly text: string;
}

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  readonly specifier: string;
  readonly typeOnly: boolean;
  readonly line: number;
}

export interface FunctionSize {
  readonly path: string;
  /** 'Class.method', 'function', or '<arrow>@line' for an anonymous function. */
  readonly name: string;
  readonly line: number;
  /** Lines from the opening to the closing brace of the body, both included. */
  readonly lines: number;
}

export function readModules(root: string): Module[] {
  const out: Module[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) out.push({ path: relative(root, path).split(sep).join('/'), text: readFileSync(path, 'utf8') });
    }
  };
  walk(root);
  return out;
}

const parsed = new WeakMap<Module, ts.SourceFile>();

function parse(m: Module): ts.SourceFile {
  let sf = parsed.get(m);
  if (sf === undefined) {
    sf = ts.createSourceFile(m.path, m.text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    parsed.set(m, sf);
  }
  return sf;
}

/** 'codec/x.ts' + '../util/y.js' → 'util/y.ts' (the sources import .ts files by their .js names). */
function resolveSpecifier(from: string, specifier: string): string {
  const abs = resolve('/', dirname(from), specifier.replace(/\.js$/, '.ts'));
  const rel = abs.slice(1);
  return rel.endsWith('.ts') ? rel : `${rel}.ts`;
}

function allSpecifiersTypeOnly(elements: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier> | undefined): boolean {
  return elements !== undefined && elements.length > 0 && elements.every((e) => e.isTypeOnly);
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) return false; // `import './x.js'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  return bindings !== undefined && ts.isNamedImports(bindings) && allSpecifiersTypeOnly(bindings.elements);
}

function isTypeOnlyExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return clause !== undefined && ts.isNamedExports(clause) && allSpecifiersTypeOnly(clause.elements);
}

/** Every relative import, re-export and `import('…')` type of a module. */
export function importsOf(m: Module): ImportEdge[] {
  const sf = parse(m);
  const edges: ImportEdge[] = [];
  const add = (spec: ts.Expression | ts.TypeNode | undefined, typeOnly: boolean, at: ts.Node): void => {
    let text: string | undefined;
    if (spec !== undefined && ts.isStringLiteral(spec)) text = spec.text;
    else if (spec !== undefined && ts.isLiteralTypeNode(spec) && ts.isStringLiteral(spec.literal)) text = spec.literal.text;
    if (text === undefined || !text.startsWith('.')) return;
    const line = sf.getLineAndCharacterOfPosition(at.getStart(sf)).line + 1;
    edges.push({ from: m.path, to: resolveSpecifier(m.path, text), specifier: text, typeOnly, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, isTypeOnlyImport(node), node);
    else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, isTypeOnlyExport(node), node);
    else if (ts.isImportTypeNode(node)) add(node.argument, true, node);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0], false, node);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edges;
}

/** The import cycles among `modules` (strongly connected components of more than one module, or a self-import). */
export function importCycles(modules: readonly Module[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const m of modules) graph.set(m.path, [...new Set(importsOf(m).map((e) => e.to))]);
  // Tarjan's algorithm, iterative enough for a source tree (recursion depth = longest import chain).
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const strongConnect = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue; // outside the tree scanned
      if (!idx.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
      }
    }
    if (low.get(v) !== idx.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
  };
  for (const v of graph.keys()) if (!idx.has(v)) strongConnect(v);
  return cycles;
}

function functionName(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  const owner = (): string => {
    const cls = node.parent;
    return (ts.isClassDeclaration(cls) || ts.isClassExpression(cls)) && cls.name !== undefined ? `${cls.name.text}.` : '';
  };
  if (ts.isConstructorDeclaration(node)) return `${owner()}constructor`;
  if (node.name !== undefined && (ts.isIdentifier(node.name) || ts.isPrivateIdentifier(node.name) || ts.isStringLiteral(node.name))) {
    return `${owner()}${node.name.text}`;
  }
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  return `<anonymous>@${line}`;
}

/** The size of every function, method, constructor, accessor and block-bodied arrow function. */
export function functionSizes(m: Module): FunctionSize[] {
  const sf = parse(m);
  const out: FunctionSize[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined && ts.isBlock(node.body)) {
      const fn = node as ts.FunctionLikeDeclaration;
      const body = node.body;
      const first = sf.getLineAndCharacterOfPosition(body.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(body.getEnd()).line;
      out.push({ path: m.path, name: functionName(fn, sf), line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Lines in a module, as an editor counts them (a final newline does not start a line). */
export function lineCount(text: string): number {
  if (text.length === 0) return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}
