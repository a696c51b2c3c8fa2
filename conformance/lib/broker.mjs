// Broker control for the conformance runner: start our own broker (bin/amqpd) as a child process on
// a free port with a temporary data dir, wait until it accepts TCP connections, and restart it on
// the same port and data dir when a scenario asks for it. Also wraps an external "restart command"
// (e.g. `rabbitmqctl stop_app && rabbitmqctl start_app`) behind the same interface so the restart
// scenarios can be checked against RabbitMQ too.
//
// Invariant: at most one child broker exists at a time; restart() resolves only once the new
// process accepts connections (or rejects with the child's stderr tail).
// Deliberately not here: any AMQP knowledge. "Ready" means "the TCP port accepts", nothing more.

import { spawn, exec } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const STDERR_TAIL_CHARS = 4_000;

/** Bind a server on port 0, read the port the kernel chose, close it. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(host, port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok) => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(1000, () => done(false));
  });
}

/** Poll until host:port accepts a TCP connection; `alive()` false aborts early (child died). */
export async function waitForPort(host, port, timeoutMs, alive = () => true) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) return false;
    if (await tryConnect(host, port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Our broker as a child process. `start()`, `restart()`, `stop()`. */
export class ChildBroker {
  constructor({ host = '127.0.0.1', logLevel = 'warn', binPath = path.join(repoRoot, 'bin', 'amqpd'), extraArgs = [] } = {}) {
    this.host = host;
    this.extraArgs = extraArgs; // e.g. the TLS listener's flags
    this.logLevel = logLevel;
    this.binPath = binPath;
    this.port = 0;
    this.dataDir = '';
    this.child = null;
    this.exited = true;
    this.stderrTail = '';
  }

  get url() {
    return `amqp://guest:guest@${this.host}:${this.port}/`;
  }

  async start() {
    if (!this.port) this.port = await freePort();
    if (!this.dataDir) this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'amqpd-conformance-'));
    await this.#spawn();
  }

  async #spawn() {
    const args = [this.binPath, '--port', String(this.port), '--host', this.host, '--data-dir', this.dataDir, '--log-level', this.logLevel];
    // The access scenarios' users, vhosts and permissions (RabbitMQ: conformance/setup-rabbitmq-access.sh).
    args.push('--load-definitions', path.join(repoRoot, 'conformance', 'access-definitions.json'), ...this.extraArgs);
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.exited = false;
    this.stderrTail = '';
    child.stderr.on('data', (d) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-STDERR_TAIL_CHARS);
    });
    child.once('exit', (code, signal) => {
      this.exited = true;
      this.exitInfo = { code, signal };
    });
    const ok = await waitForPort(this.host, this.port, START_TIMEOUT_MS, () => !this.exited);
    if (!ok) {
      const why = this.exited ? `exited (${JSON.stringify(this.exitInfo)})` : `did not accept connections within ${START_TIMEOUT_MS} ms`;
      await this.stop();
      throw new Error(`broker ${why}: node ${args.join(' ')}\n${this.stderrTail}`);
    }
  }

  /** SIGTERM, wait for exit (SIGKILL after STOP_TIMEOUT_MS). Never throws. */
  async stop() {
    const child = this.child;
    if (!child || this.exited) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(timer);
  }

  async restart() {
    await this.stop();
    await this.#spawn();
  }

  cleanup() {
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Restart an external broker by running a shell command, then wait for host:port to accept. */
export function commandRestarter(cmd, host, port) {
  return async () => {
    await new Promise((resolve, reject) => {
      exec(cmd, { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`restart command failed: ${err.message}\n${stderr}`)) : resolve()));
    });
    if (!(await waitForPort(host, port, START_TIMEOUT_MS))) throw new Error(`broker did not come back on ${host}:${port}`);
  };
}
