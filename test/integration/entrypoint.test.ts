/**
 * The Docker image without Docker: each stage's files are assembled in a temp dir from the
 * Dockerfile's own COPY lines and the build stage's RUN lines (`npm run build`; node_modules is
 * the shared install, linked), then the runtime stage's ENTRYPOINT + CMD run as written, with RABBITMQ_DEFAULT_USER/PASS
 * and ports chosen by env as `docker run -e` would. Checks: the "Server startup complete" line
 * (Testcontainers waits for it), a login with the alias credentials, the HEALTHCHECK command line
 * parsed from the Dockerfile (exit 0 while up, non-zero once stopped), --log-format json/pretty/
 * auto, and that docker-compose.yml, prometheus.yml and the Grafana dashboard agree with the image
 * and with the metric names the broker exports.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { stripVTControlCharacters } from 'node:util';
import { basename, dirname, join, resolve } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { all, envOf, execForm, healthcheck, last, parseDockerfile, type Stage } from '../helpers/dockerfile.js';

const ROOT = resolve(__dirname, '../..');
const STARTUP = 'Server startup complete';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * A stage's WORKDIR, built in `dir` from its instructions: COPY from the context copies the repo's
 * files; COPY --from=<stage> takes them from where that stage was built. With `runSteps`, its RUN
 * lines run there (sh -c), except apt-get (this machine has the toolchain) and `npm ci` (the
 * shared install is linked as node_modules instead; it holds the dev dependencies too, a superset
 * of --omit=dev). The runtime stage's RUN (mkdir/chown /data) is replaced by the temp data dir.
 */
function assemble(stage: Stage, workdir: string, dir: string, built: ReadonlyMap<string, string>, runSteps: boolean): void {
  mkdirSync(dir, { recursive: true });
  for (const i of stage.instructions) {
    if (i.op === 'COPY') {
      const words = i.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const dest = paths.pop() ?? '';
      for (const src of paths) {
        const target = dest.endsWith('/') ? join(dir, dest, basename(src)) : resolve(dir, dest);
        mkdirSync(dirname(target), { recursive: true });
        const origin = from === undefined ? ROOT : built.get(from);
        if (origin === undefined || (from !== undefined && !src.startsWith(`${workdir}/`))) throw new Error(`cannot mirror COPY ${i.args}`);
        cpSync(join(origin, from === undefined ? src : src.slice(workdir.length + 1)), target, { recursive: true });
      }
    } else if (i.op === 'RUN' && runSteps && !/^apt-get\b/.test(i.args)) {
      if (/^npm ci\b/.test(i.args)) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      else {
        const r = spawnSync('sh', ['-c', i.args], { cwd: dir, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`RUN ${i.args} failed: ${r.stdout}${r.stderr}`);
      }
    }
  }
}

interface Running {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

/** Starts `argv` and resolves once a stdout line contains STARTUP (rejects if it exits first). */
function startUntilReady(argv: readonly string[], env: NodeJS.ProcessEnv, detached = false): Promise<Running> {
  const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], detached });
  const lines: string[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      if (detached) process.kill(-(child.pid as number), 'SIGKILL');
      else child.kill('SIGKILL');
      fail(new Error(`no "${STARTUP}" line in 30 s:\n${lines.join('\n')}\n${stderr}`));
    }, 30_000);
    let partial = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        lines.push(l.replace(/\r$/, ''));
        if (l.includes(STARTUP)) {
          clearTimeout(timer);
          ok({ child, lines, exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`exited with ${String(code)} before "${STARTUP}":\n${lines.join('\n')}\n${stderr}`));
    });
  });
}

function run(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((ok) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => ok({ code, stderr }));
    child.once('error', (err) => ok({ code: -1, stderr: err.message }));
  });
}

const seconds = (v: string | undefined): number => Number(/^(\d+)s$/.exec(v ?? '')?.[1] ?? Number.NaN);

describe('the Docker image, run without Docker', () => {
  const stages = parseDockerfile(join(ROOT, 'Dockerfile'));
  const runtime = stages.at(-1) as Stage;
  const workdir = last(runtime, 'WORKDIR').args;
  const tmp = mkdtempSync(join(tmpdir(), 'amqpd-image-'));
  const app = join(tmp, 'app');
  /** An image path (under WORKDIR) mapped to the local copy. */
  const local = (p: string): string => (p.startsWith(`${workdir}/`) ? join(app, p.slice(workdir.length + 1)) : p);
  const entry = [...execForm(last(runtime, 'ENTRYPOINT').args).map(local), ...execForm(last(runtime, 'CMD').args)];
  const hc = healthcheck(runtime);
  const hcArgv = hc.command.map(local);

  /** The container's env: the image's ENV, then what `docker run -e` sets; nothing from ours. */
  function containerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^(AMQPD|AMQPCTL|RABBITMQ)_/.test(k)) env[k] = v;
    env['PATH'] = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
    const image = Object.fromEntries(Object.entries(envOf(runtime, env)).map(([k, v]) => [k, v.split(':').map(local).join(':')]));
    return { ...env, ...image, AMQPD_HOST: '127.0.0.1', AMQPD_PORT: '0', ...extra };
  }

  beforeAll(() => {
    const built = new Map<string, string>();
    for (const [n, st] of stages.entries()) {
      const dir = st === runtime ? app : join(tmp, `stage-${n}`);
      assemble(st, last(st, 'WORKDIR').args, dir, built, st !== runtime);
      if (st.name !== undefined) built.set(st.name, dir);
    }
  }, 240_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is multi-stage on one base family, runs as a non-root user, keeps data in a volume and exposes the four ports', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const bases = new Set(stages.map((s) => s.from.split(':')[1]?.replace(/^\d+[.\d]*-?/, '')));
    expect([...bases]).toEqual(['bookworm-slim']);
    expect(all(runtime, 'RUN').some((r) => /npm (ci|install)/.test(r.args))).toBe(false); // no dev deps, no compilers
    expect(last(runtime, 'USER').args).not.toMatch(/^(root|0)$/);
    expect(execForm(last(runtime, 'VOLUME').args)).toEqual([envOf(runtime)['AMQPD_DATA_DIR']]);
    expect(last(runtime, 'EXPOSE').args.split(/\s+/).sort()).toEqual(['15672', '15692', '5671', '5672']);
    expect(seconds(hc.options['timeout'])).toBeGreaterThan(0);
    // Every file the stages COPY from the context survives .dockerignore (plain paths, as ours has).
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    const copied = stages.flatMap((st) => all(st, 'COPY').filter((c) => !c.args.includes('--from=')).flatMap((c) => c.args.split(/\s+/).slice(0, -1)));
    expect(copied).toContain('docker/entrypoint.sh');
    const lost = copied.filter((src) => ignored.some((p) => src === p || src.startsWith(`${p}/`) || (p.startsWith('*.') && src.endsWith(p.slice(1)))));
    expect(lost).toEqual([]);
  });

  it('starts with RABBITMQ_DEFAULT_USER/PASS, prints "Server startup complete", and its HEALTHCHECK passes, then fails once stopped', async () => {
    const data = join(tmp, 'data');
    mkdirSync(data);
    const [mgmt, metrics] = [await freePort(), await freePort()];
    const env = containerEnv({
      AMQPD_DATA_DIR: data,
      AMQPD_MANAGEMENT_PORT: String(mgmt),
      AMQPD_PROMETHEUS_PORT: String(metrics),
      RABBITMQ_DEFAULT_USER: 'tc-user',
      RABBITMQ_DEFAULT_PASS: 'tc-secret',
    });
    const b = await startUntilReady(entry, env);
    try {
      const ready = JSON.parse(b.lines.find((l) => l.includes(STARTUP)) as string) as Record<string, number>;
      expect(ready).toMatchObject({ level: 30, management: mgmt, prometheus: metrics });
      const url = (u: string, p: string) => `amqp://${u}:${p}@127.0.0.1:${ready['amqp']}/`;
      const conn = await amqp.connect(url('tc-user', 'tc-secret'));
      const ch = await conn.createChannel();
      await ch.assertQueue('entrypoint-q');
      ch.sendToQueue('entrypoint-q', Buffer.from('hi'));
      const got = await ch.get('entrypoint-q', { noAck: true });
      expect(got === false ? got : got.content.toString()).toBe('hi');
      await conn.close();
      await expect(amqp.connect(url('guest', 'guest'))).rejects.toThrow(/ACCESS_REFUSED|403/);

      const up = await run(hcArgv, env, seconds(hc.options['timeout']) * 1000);
      expect([up.code, up.stderr]).toEqual([0, '']);
      // README: `docker exec <c> amqpctl …` (amqpctl on the image's PATH) and `docker run … amqpctl …`.
      expect((await run(['amqpctl', '-q', 'list_queues'], env, 10_000)).code).toBe(0);
      expect((await run([entry[0] as string, 'amqpctl', '-q', 'ping'], env, 10_000)).code).toBe(0);

      const exported = new Set(
        [...(await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]),
      );
      const dashboard = JSON.parse(readFileSync(join(ROOT, 'docker/grafana/dashboards/RabbitMQ-Overview.json'), 'utf8')) as {
        title: string;
        panels: { targets: { expr: string }[] }[];
      };
      expect(dashboard.title).toBe('RabbitMQ-Overview');
      const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/(?<![$\w])rabbitmq_[a-z_]+(?![a-z_]|\s*[=)])/g)].map((m) => m[0]))));
      expect(used.size).toBeGreaterThanOrEqual(15); // metric names, not the label rabbitmq_cluster
      expect([...used].filter((n) => !exported.has(n))).toEqual([]);
    } finally {
      b.child.kill(last(runtime, 'STOPSIGNAL').args as NodeJS.Signals);
    }
    expect(await b.exited).toBe(0);
    const down = await run(hcArgv, env, seconds(hc.options['timeout']) * 1000);
    expect(down.code).toBe(69);
    expect(down.stderr).toContain(`cannot reach the broker's management API at http://127.0.0.1:${mgmt}`);
  }, 120_000);

  describe('log format', () => {
    const quiet = { AMQPD_DATA_DIR: ':memory:', AMQPD_MANAGEMENT_PORT: '0', AMQPD_PROMETHEUS_PORT: '0' };
    const isJson = (l: string): boolean => {
      try {
        return typeof JSON.parse(l) === 'object';
      } catch {
        return false;
      }
    };
    async function linesOf(argv: readonly string[], env: NodeJS.ProcessEnv, detached = false): Promise<string[]> {
      const b = await startUntilReady(argv, env, detached);
      if (detached) process.kill(-(b.child.pid as number), 'SIGTERM');
      else b.child.kill('SIGTERM');
      await b.exited;
      return b.lines.filter((l) => l.trim() !== '');
    }
    const expectJson = (lines: string[]): void => {
      expect(lines.length).toBeGreaterThanOrEqual(2);
      for (const l of lines) expect([l, isJson(l)]).toEqual([l, true]);
    };
    const expectPretty = (lines: string[]): void => {
      expect(lines.length).toBeGreaterThanOrEqual(2);
      for (const l of lines) expect([l, isJson(l)]).toEqual([l, false]);
      expect(lines.find((l) => l.includes(STARTUP))).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] (\S*)INFO\S*: .*Server startup complete/);
    };

    it('writes JSON lines when stdout is not a terminal, and with --log-format json', async () => {
      expectJson(await linesOf(entry, containerEnv(quiet)));
      expectJson(await linesOf([...entry, '--log-format', 'json'], containerEnv({ ...quiet, AMQPD_LOG_FORMAT: 'pretty' })));
    }, 60_000);

    it('writes pretty lines with --log-format pretty, AMQPD_LOG_FORMAT=pretty, and on a terminal', async () => {
      const [ep = '', ...rest] = entry;
      expectPretty(await linesOf([ep, '--log-format', 'pretty'], containerEnv(quiet)));
      expectPretty(await linesOf(entry, containerEnv({ ...quiet, AMQPD_LOG_FORMAT: 'pretty' })));
      // A pseudo-terminal from util-linux `script`: the default (auto) turns pretty and coloured.
      const tty = await linesOf(['script', '-qfec', [ep, ...rest].join(' '), '/dev/null'], containerEnv(quiet), true);
      expect(tty.some((l) => l.includes('\u001b['))).toBe(true);
      expectPretty(tty.map((l) => stripVTControlCharacters(l)));
    }, 60_000);
  });

  it('docker-compose.yml runs the same healthcheck; Prometheus scrapes the metrics port; Grafana gets the datasource the dashboard names', () => {
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const amqpd = /^ {2}amqpd:\n((?: {4}.*\n|\n)*)/m.exec(compose)?.[1] ?? '';
    const test = /^ {6}test: (\[.*\])$/m.exec(amqpd)?.[1];
    expect(execForm(test ?? '[]')).toEqual(['CMD', ...hc.command]);
    expect(amqpd).toMatch(new RegExp(`\n {6}- [a-z-]+:${execForm(last(runtime, 'VOLUME').args)[0]}\n`));
    expect(compose).toMatch(/prometheus:\n(?: {4}.*\n)*? {4}depends_on:\n {6}amqpd:\n {8}condition: service_healthy/);
    expect(readFileSync(join(ROOT, 'docker/prometheus.yml'), 'utf8')).toMatch(/targets: \["amqpd:15692"\]/);
    const ds = readFileSync(join(ROOT, 'docker/grafana/provisioning/datasources/prometheus.yml'), 'utf8');
    const uid = /uid: (\S+)/.exec(ds)?.[1];
    const dashboard = readFileSync(join(ROOT, 'docker/grafana/dashboards/RabbitMQ-Overview.json'), 'utf8');
    const uids = new Set([...dashboard.matchAll(/"uid": "([^"]+)"/g)].map((m) => m[1]).filter((u) => u !== 'amqpd-rabbitmq-overview'));
    expect([...uids]).toEqual([uid]);
  });
});
