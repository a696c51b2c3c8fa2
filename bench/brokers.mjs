// Brokers for bench/compare.mjs: an amqpd from any built checkout (temp data dir, free port on
// 127.0.0.1), a private RabbitMQ node (Debian's rabbitmq-server, own node name, ports and dirs), and
// a temporary git worktree of another commit, built, for commit-vs-commit runs. Every broker has
// stop(); every worktree has remove(). Nothing here measures anything.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync, realpathSync, symlinkSync, unlinkSync, rmdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './lib.mjs';

/** stop() of every broker started and not yet stopped, registered as soon as its process exists. */
const live = new Set();

/** Stops every broker still running (on the way out, also when interrupted mid-start). */
export async function stopAll() {
  for (const stop of [...live]) await stop();
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitForPort(port, timeoutMs, child) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child && child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode} before listening`);
    const ok = await new Promise((r) => {
      const c = connect(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`port ${port} did not open in ${timeoutMs} ms`);
}

/** Starts <root>/bin/amqpd (root must be built: dist/) on a free port with a fresh data dir. */
export async function startAmqpd(root, label = 'amqpd', extraArgs = []) {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error(`${root}/dist is missing: build it first`);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-bench-'));
  const child = spawn(process.execPath, [join(root, 'bin/amqpd'), '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs],
    { stdio: ['ignore', 'inherit', 'inherit'] });
  const stop = async () => {
    live.delete(stop);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  live.add(stop);
  await waitForPort(port, 20_000, child);
  return { label, url: `amqp://guest:guest@127.0.0.1:${port}/`, pid: child.pid, stop };
}

/**
 * Starts a private RabbitMQ node, or resolves undefined when rabbitmq-server is not installed.
 * `conf(base)` may return rabbitmq.conf text (files it names can be put under `base`, which the node owns).
 */
export async function startRabbit({ conf } = {}) {
  if (!existsSync('/usr/sbin/rabbitmq-server') && !existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server')) return undefined;
  const port = await freePort();
  const base = mkdtempSync(join(tmpdir(), 'rabbit-bench-'));
  const node = `amqpdbench${port}@localhost`;
  writeFileSync(join(base, 'enabled_plugins'), '[].\n');
  const env = {
    ...process.env, RABBITMQ_NODENAME: node, RABBITMQ_NODE_PORT: String(port), RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_DIST_PORT: String(await freePort()),
    RABBITMQ_MNESIA_BASE: join(base, 'mnesia'), RABBITMQ_LOG_BASE: join(base, 'log'), RABBITMQ_PID_FILE: join(base, 'pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'), RABBITMQ_CONFIG_FILE: join(base, 'none'),
  };
  if (conf !== undefined) {
    writeFileSync(join(base, 'rabbitmq.conf'), conf(base));
    env.RABBITMQ_CONFIG_FILE = join(base, 'rabbitmq.conf');
  }
  // Debian's script drops to the rabbitmq user when started as root: it must own its dirs.
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'rabbitmq:rabbitmq', base]);
  // Debian's /usr/sbin/rabbitmq-server wrapper switches user with `su`, whose PAM session resets
  // the open-files limit to 1024 (too few for 10,000 connections); setpriv keeps our limit.
  const asRoot = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv') && existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server');
  const child = asRoot
    ? spawn('setpriv', ['--reuid=rabbitmq', '--regid=rabbitmq', '--init-groups', '/usr/lib/rabbitmq/bin/rabbitmq-server'],
      { env: { ...env, HOME: '/var/lib/rabbitmq' }, cwd: '/var/lib/rabbitmq', stdio: 'ignore', detached: true })
    : spawn('rabbitmq-server', [], { env, stdio: 'ignore', detached: true });
  child.unref();
  const stop = async () => {
    live.delete(stop);
    try {
      execFileSync('rabbitmqctl', ['-n', node, 'stop'], { env, stdio: 'ignore' });
    } catch {
      // Not up (yet) or already gone: end its process group, started detached above.
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    }
    rmSync(base, { recursive: true, force: true });
  };
  live.add(stop);
  try {
    // `rabbitmqctl await_startup` fails at once while the node is not yet registered with epmd;
    // the AMQP port opening is the signal that matters here.
    await waitForPort(port, 60_000);
    const pid = Number(execFileSync('rabbitmqctl', ['-n', node, 'eval', 'list_to_integer(os:getpid()).'], { env }).toString().trim());
    const version = execFileSync('rabbitmqctl', ['-n', node, 'version'], { env }).toString().trim();
    const nofile = /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1];
    console.log(`rabbitmq ${version} node ${node} pid ${pid} max open files ${nofile}`);
    return { label: `rabbitmq-${version}`, url: `amqp://guest:guest@127.0.0.1:${port}/`, pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Checks out `ref` of the repository at `root` into a temporary git worktree (detached), links
 * root's node_modules into it and builds it (`npm run build`). remove() deletes the worktree.
 */
export function buildCheckout(root, ref) {
  const sha = execFileSync('git', ['-C', root, 'rev-parse', '--verify', `${ref}^{commit}`]).toString().trim();
  const dir = mkdtempSync(join(tmpdir(), `amqpd-baseline-${sha.slice(0, 8)}-`));
  rmdirSync(dir); // git worktree add creates it
  execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', dir, sha], { stdio: 'inherit' });
  const link = join(dir, 'node_modules');
  const remove = () => {
    try { unlinkSync(link); } catch { /* not linked yet */ }
    try { execFileSync('git', ['-C', root, 'worktree', 'remove', '--force', dir], { stdio: 'ignore' }); } catch { /* removed below */ }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    symlinkSync(realpathSync(join(root, 'node_modules')), link);
    console.log(`building ${ref} (${sha.slice(0, 12)}) in ${dir}`);
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: dir, stdio: 'inherit' });
  } catch (err) {
    remove();
    throw err;
  }
  const subject = execFileSync('git', ['-C', root, 'log', '-1', '--format=%h %s', sha]).toString().trim();
  return { dir, sha, subject, remove };
}
