/**
 * Test certificates made at run time with the openssl command (none are checked in): a CA, a
 * server certificate for localhost/127.0.0.1, client certificates signed by the CA (CN chosen by
 * the test), an expired client certificate, and a second CA with a client certificate of its own
 * (the "wrong CA" case). EC P-256 keys, so a full set takes a fraction of a second.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly server: CertFiles;
  /** A client certificate signed by the CA, for user `cn`. */
  client(cn: string): CertFiles;
  /** A client certificate signed by the CA that expired yesterday. */
  expiredClient(cn: string): CertFiles;
  /** A client certificate signed by another CA that the broker does not trust. */
  foreignClient(cn: string): CertFiles;
  /** A fresh server certificate (for reload tests), signed by the CA. */
  newServer(name: string): CertFiles;
  read(file: string): Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): CertFiles {
  const ca = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  openssl(['req', '-x509', ...EC, '-keyout', ca.key, '-out', ca.cert, '-days', '2', '-subj', `/CN=${name}`], dir);
  return ca;
}

function sign(dir: string, ca: CertFiles, name: string, cn: string, days: number, ext?: string): CertFiles {
  const out = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  openssl(['req', ...EC, '-keyout', out.key, '-out', csr, '-subj', `/CN=${cn}`], dir);
  const extArgs: string[] = [];
  if (ext !== undefined) {
    const extFile = join(dir, `${name}.ext`);
    writeFileSync(extFile, ext);
    extArgs.push('-extfile', extFile);
  }
  const serial = ['-set_serial', String(Math.floor(Math.random() * 2 ** 40))];
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, ...serial, '-out', out.cert, '-days', String(days), ...extArgs], dir);
  return out;
}

const SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\n';

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'amqpd-pki-'));
  const ca = makeCa(dir, 'ca');
  const other = makeCa(dir, 'other-ca');
  let n = 0;
  return {
    dir,
    caFile: ca.cert,
    server: sign(dir, ca, 'server', 'localhost', 2, SERVER_EXT),
    client: (cn) => sign(dir, ca, `client-${++n}`, cn, 2, CLIENT_EXT),
    expiredClient: (cn) => sign(dir, ca, `expired-${++n}`, cn, -1, CLIENT_EXT),
    foreignClient: (cn) => sign(dir, other, `foreign-${++n}`, cn, 2, CLIENT_EXT),
    newServer: (name) => sign(dir, ca, `${name}-${++n}`, 'localhost', 2, SERVER_EXT),
    read: (file) => readFileSync(file),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
