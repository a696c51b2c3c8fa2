/**
 * The web UI's files as the management server serves them: `/` is the page, every module it
 * imports (transitively) is served with a JavaScript type, nothing outside the UI folder is
 * reachable, the files need no login while /api still does, and every UI file keeps to the
 * 450-line module limit. The browser test (test/browser/ui.test.ts) drives the pages themselves.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadUi, uiFolder } from '../../src/management/static-ui.js';
import { withManagement } from '../helpers/management.js';

const MODULE_LINES_MAX = 450;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
}

describe('web UI static files', () => {
  it('serves the page and every module it imports, without a login, with a strict CSP', async () => {
    await withManagement(async (m) => {
      const get = (path: string, method = 'GET') => fetch(`http://127.0.0.1:${m.httpPort}${path}`, { method });
      const page = await get('/');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
      const html = await page.text();
      expect(html).toContain('<script type="module" src="/js/app.js">');
      expect((await get('/style.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
      // Walk the import graph from app.js: each import must be served as JavaScript.
      const seen = new Set<string>();
      const queue = ['/js/app.js'];
      while (queue.length > 0) {
        const path = queue.pop() as string;
        if (seen.has(path)) continue;
        seen.add(path);
        const res = await get(path);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
        for (const [, spec] of (await res.text()).matchAll(/^import .* from '([^']+)';$/gm)) {
          queue.push(new URL(spec as string, `http://x${path}`).pathname);
        }
      }
      expect(seen.size).toBeGreaterThanOrEqual(10);
      const head = await get('/', 'HEAD');
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      expect((await m.api('GET', '/api/overview', undefined, { auth: null })).status).toBe(401);
    });
  });

  it('reaches nothing outside the UI folder', async () => {
    await withManagement(async (m) => {
      const outside = ['/../package.json', '/%2e%2e/package.json', '/js/../../static-ui.ts', '/js/..%2f..%2fstatic-ui.ts'];
      for (const path of [...outside, '/index.html/', '/nope.js', '/api']) {
        const res = await fetch(`http://127.0.0.1:${m.httpPort}${path}`);
        expect(res.status, path).toBe(404);
        expect(res.headers.get('content-type')).toBe('application/json');
      }
      expect((await fetch(`http://127.0.0.1:${m.httpPort}/`, { method: 'POST' })).status).toBe(404);
    });
  });

  it('loads only the UI folder, and nothing when there is none', () => {
    const dir = uiFolder();
    expect(dir).toBeDefined();
    const files = loadUi(dir);
    const onDisk = filesUnder(dir as string).map((f) => f.slice((dir as string).length).split('\\').join('/'));
    expect([...files.keys()].sort()).toEqual(['/', ...onDisk].sort());
    expect(loadUi(join(dir as string, 'js', 'pages')).get('/')).toBeUndefined();
    expect(loadUi(undefined).size).toBe(0);
  });

  it('keeps every UI file within the module size limit', () => {
    for (const f of filesUnder(uiFolder() as string)) {
      expect(readFileSync(f, 'utf8').split('\n').length, f).toBeLessThanOrEqual(MODULE_LINES_MAX);
    }
  });
});
