/**
 * TLS (amqps) with real clients and certificates made at run time (test/helpers/tls-certs.ts):
 * both listeners at once, peer verification (wrong CA, expired, missing certificate refused),
 * SASL EXTERNAL by certificate CN (offered only on a verifying TLS listener), certificate reload,
 * and the same cases through pika (test/integration/pika-tls.py).
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { copyFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { makeTestPki, type CertFiles, type TestPki } from '../helpers/tls-certs.js';
import { withServer, type TestServer } from '../helpers/server.js';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.remove());

function tlsConfig(verify: 'none' | 'peer' | 'required'): Partial<Config> {
  return {
    tlsPort: 0,
    tlsCert: pki.server.cert,
    tlsKey: pki.server.key,
    tlsCa: pki.caFile,
    tlsVerifyPeer: verify !== 'none',
    tlsFailIfNoPeerCert: verify === 'required',
  };
}

function tlsPort(s: TestServer): number {
  const a = s.server.tlsAddress();
  if (a === undefined) throw new Error('no TLS listener');
  return a.port;
}

interface ClientOpts {
  readonly client?: CertFiles;
  readonly external?: boolean;
  readonly user?: string;
}

/** Connects over amqps, declares a queue, round-trips one message, and returns the server's user. */
async function roundTrip(s: TestServer, opts: ClientOpts = {}): Promise<string> {
  const socketOptions = {
    ca: [pki.read(pki.caFile)],
    ...(opts.client !== undefined ? { cert: pki.read(opts.client.cert), key: pki.read(opts.client.key) } : {}),
    ...(opts.external === true ? { credentials: amqp.credentials.external() } : {}),
  };
  const url = { protocol: 'amqps', hostname: '127.0.0.1', port: tlsPort(s), username: opts.user ?? 'guest', password: opts.user === undefined ? 'guest' : 'pw' };
  const conn = await amqp.connect(url, socketOptions);
  try {
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(q.queue, Buffer.from('over tls'));
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 50 && got === false; i++) {
      got = await ch.get(q.queue, { noAck: true });
      if (got === false) await new Promise((r) => setTimeout(r, 10));
    }
    expect(got !== false && got.content.toString()).toBe('over tls');
    return s.server.registry.connections()[0]?.user ?? '';
  } finally {
    await conn.close();
  }
}

function serialOf(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: '127.0.0.1', port, ca: [pki.read(pki.caFile)] }, () => {
      resolve(sock.getPeerCertificate().serialNumber);
      sock.destroy();
    });
    sock.on('error', reject);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

describe('TLS listener', () => {
  it('serves amqps and plain amqp at once; EXTERNAL is not offered without peer verification', async () => {
    await withServer(
      async (s) => {
        expect(tlsPort(s)).not.toBe(s.port);
        expect(await roundTrip(s)).toBe('guest');
        const plain = await amqp.connect(s.url);
        await plain.close();
        await expect(roundTrip(s, { external: true })).rejects.toThrow(/EXTERNAL/);
      },
      { config: tlsConfig('none') },
    );
  });

  it('verify_peer + fail_if_no_peer_cert: a good client certificate works, EXTERNAL logs in as its CN', async () => {
    await withServer(
      async (s) => {
        expect(await roundTrip(s, { client: pki.client('someone'), user: 'alice' })).toBe('alice');
        expect(await roundTrip(s, { client: pki.client('alice'), external: true })).toBe('alice');
        // The CN names a user that does not exist: 403 for EXTERNAL.
        await expect(roundTrip(s, { client: pki.client('guest'), external: true })).rejects.toThrow(
          /ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL/,
        );
        // EXTERNAL is offered on the TLS listener only, never on plain TCP.
        const plainExternal = amqp.connect(s.url, { credentials: amqp.credentials.external() });
        await expect(plainExternal).rejects.toThrow(/EXTERNAL/);
      },
      { config: { ...tlsConfig('required'), defaultUser: 'alice', defaultPass: 'pw' } },
    );
  });

  it('refuses a certificate from another CA, an expired one, and none when one is required', async () => {
    await withServer(
      async (s) => {
        await expect(roundTrip(s, { client: pki.foreignClient('guest') })).rejects.toThrow();
        await expect(roundTrip(s, { client: pki.expiredClient('guest') })).rejects.toThrow();
        await expect(roundTrip(s)).rejects.toThrow();
        expect(await roundTrip(s, { client: pki.client('guest') })).toBe('guest');
      },
      { config: { ...tlsConfig('required') } },
    );
  });

  it('verify_peer alone: no certificate is fine (PLAIN), a bad one is refused, EXTERNAL needs one', async () => {
    await withServer(
      async (s) => {
        expect(await roundTrip(s)).toBe('guest');
        await expect(roundTrip(s, { client: pki.foreignClient('guest') })).rejects.toThrow();
        await expect(roundTrip(s, { client: pki.expiredClient('guest') })).rejects.toThrow();
        await expect(roundTrip(s, { external: true })).rejects.toThrow(/ACCESS_REFUSED.*EXTERNAL/);
        expect(await roundTrip(s, { client: pki.client('guest'), external: true })).toBe('guest');
      },
      { config: { ...tlsConfig('peer') } },
    );
  });

  it('reloadTls (SIGHUP) makes new handshakes use the certificate now on disk', async () => {
    const live = { cert: `${pki.dir}/live.pem`, key: `${pki.dir}/live.key` };
    copyFileSync(pki.server.cert, live.cert);
    copyFileSync(pki.server.key, live.key);
    const serial = serialOf;
    await withServer(
      async (s) => {
        const before = await serial(tlsPort(s));
        const next = pki.newServer('next');
        copyFileSync(next.cert, live.cert);
        copyFileSync(next.key, live.key);
        expect(await serial(tlsPort(s))).toBe(before);
        expect(s.server.reloadTls()).toBe(true);
        const after = await serial(tlsPort(s));
        expect(after).not.toBe(before);
        copyFileSync(pki.server.key, live.key); // key no longer matches the certificate
        expect(() => s.server.reloadTls()).toThrow();
        expect(await serial(tlsPort(s))).toBe(after); // the old pair stays in use
      },
      { config: { ...tlsConfig('none'), tlsCert: live.cert, tlsKey: live.key } },
    );
  });

  it('the amqpd process reloads its certificates on SIGHUP and keeps running', async () => {
    const live = { cert: `${pki.dir}/hup.pem`, key: `${pki.dir}/hup.key` };
    copyFileSync(pki.server.cert, live.cert);
    copyFileSync(pki.server.key, live.key);
    const [port, tlsPortNo] = [await freePort(), await freePort()];
    const args = ['--host', '127.0.0.1', '--port', String(port), '--data-dir', ':memory:', '--log-level', 'warn'];
    const tlsArgs = ['--tls-port', String(tlsPortNo), '--tls-cert', live.cert, '--tls-key', live.key];
    const child = spawn(process.execPath, ['node_modules/vite-node/vite-node.mjs', 'test/helpers/run-cli.ts', '--', ...args, ...tlsArgs], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      let before: string | undefined;
      for (let i = 0; i < 200 && before === undefined; i++) {
        before = await serialOf(tlsPortNo).catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)));
      }
      expect(before).toBeDefined();
      const next = pki.newServer('hup');
      copyFileSync(next.cert, live.cert);
      copyFileSync(next.key, live.key);
      child.kill('SIGHUP');
      let after = before;
      for (let i = 0; i < 50 && after === before; i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = await serialOf(tlsPortNo);
      }
      expect(after).not.toBe(before);
      expect(child.exitCode).toBeNull();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('pika: ssl_options with a client certificate, EXTERNAL, and refusals', async () => {
    await withServer(
      async (s) => {
        const args = [String(tlsPort(s)), pki.caFile, JSON.stringify({ good: pki.client('guest'), nobody: pki.client('nobody'), foreign: pki.foreignClient('guest'), expired: pki.expiredClient('guest') })];
        const out = await new Promise<string>((resolve, reject) =>
          execFile('/usr/bin/python3', ['test/integration/pika-tls.py', ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
            err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
          ),
        );
        expect(JSON.parse(out.trim().split('\n').pop() ?? '{}')).toEqual({
          plain_with_cert: 'ok',
          external: 'ok',
          external_unknown_user: 'refused',
          no_cert: 'refused',
          foreign_ca: 'refused',
          expired: 'refused',
        });
      },
      { config: tlsConfig('required') },
    );
  });
});
