// Part of `npm run build`: copies the web UI's static files (src/management/ui: HTML, CSS, plain
// ES modules, no build step of their own) next to the compiled management server in dist/, so
// dist/ is complete on its own (the Docker image ships dist/ without src/).
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'src', 'management', 'ui');
const to = join(root, 'dist', 'src', 'management', 'ui');
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
