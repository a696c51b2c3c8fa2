// Certificates for the TLS scenarios, made at run time with the openssl command (none checked in):
// a CA, a server certificate for localhost/127.0.0.1, client certificates signed by the CA
// (CN conf-cert, the certificate-only user of access-definitions.json, and CN conf-nobody, a user
// that exists on neither broker), an expired one, and one signed by another CA the broker does
// not trust. EC P-256 keys: a whole set takes well under a second.
//
//   node conformance/lib/tls-pki.mjs DIR     writes the set into DIR (to configure a RabbitMQ
//                                            node with the same files) and prints its JSON
//
// Invariant: the JSON (`describePki`) names absolute paths only; the runner hands it to amqplib
// scenarios (ctx.tls) and pika ones (env AMQPD_CONF_TLS). Not here: starting any broker.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir, args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir, name) {
  openssl(dir, ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
  return name;
}

function sign(dir, ca, name, cn, days, ext) {
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  const serial = String(Math.floor(Math.random() * 2 ** 40));
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', serial,
    '-out', `${name}.pem`, '-days', String(days), '-extfile', `${name}.ext`]);
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

const SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\n';

/** Makes the set in `dir` (a fresh temp dir when omitted); returns its description. */
export function makePki(dir = mkdtempSync(path.join(tmpdir(), 'amqpd-conf-pki-'))) {
  mkdirSync(dir, { recursive: true });
  const ca = makeCa(dir, 'ca');
  const other = makeCa(dir, 'other-ca');
  sign(dir, ca, 'server', 'localhost', 2, SERVER_EXT);
  sign(dir, ca, 'client', 'conf-cert', 2, CLIENT_EXT);
  sign(dir, ca, 'nobody', 'conf-nobody', 2, CLIENT_EXT);
  sign(dir, ca, 'expired', 'conf-cert', -1, CLIENT_EXT);
  sign(dir, other, 'foreign', 'conf-cert', 2, CLIENT_EXT);
  return pkiIn(dir);
}

/** The description of a set made earlier in `dir` (the runner's --tls-pki). */
export function pkiIn(dir) {
  const abs = path.resolve(dir);
  const pair = (name) => ({ cert: path.join(abs, `${name}.pem`), key: path.join(abs, `${name}.key`) });
  return {
    dir: abs,
    ca: path.join(abs, 'ca.pem'),
    server: pair('server'),
    client: pair('client'), // CN conf-cert
    unknownUser: pair('nobody'), // CN conf-nobody
    expired: pair('expired'), // CN conf-cert, expired yesterday
    foreign: pair('foreign'), // CN conf-cert, signed by other-ca
  };
}

export function removePki(pki) {
  rmSync(pki.dir, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node conformance/lib/tls-pki.mjs DIR');
    process.exit(2);
  }
  console.log(JSON.stringify(makePki(path.resolve(dir)), null, 1));
}
