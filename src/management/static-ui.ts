/**
 * The web UI's static files: plain ES modules, CSS and one HTML page kept in src/management/ui/
 * (no build step), served at `/` by the management HTTP server. The UI is a pure client of /api.
 *
 * Invariant: only files found in the UI folder when the server starts are served, from memory,
 * looked up by exact path, so no request path can reach another file (no `..`, no symlink
 * surprises). The files carry no secrets and need no login (RabbitMQ serves its UI the same way);
 * every /api call they make is authenticated. Not here: the API (server.ts and the routes).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * The UI folder: next to this module (src/management/ui when run from source; `npm run build`
 * copies it to dist/src/management/ui), else the clone's src/ when run from a dist/ built without
 * the copy.
 */
export function uiFolder(): string | undefined {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const dir of [join(here, 'ui'), join(here, '..', '..', '..', 'src', 'management', 'ui')]) {
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/** Every servable file under `dir`, keyed by its URL path ('/js/app.js'); '/' is index.html. */
export function loadUi(dir: string | undefined): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (dir === undefined) return files;
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const type = TYPES[extname(name)];
        if (type !== undefined) files.set(`/${relative(dir, path).split(sep).join('/')}`, { body: readFileSync(path), contentType: type });
      }
    }
  };
  walk(dir);
  const index = files.get('/index.html');
  if (index !== undefined) files.set('/', index);
  return files;
}

