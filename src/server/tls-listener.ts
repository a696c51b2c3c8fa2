/**
 * TlsListener: the amqps listener (RabbitMQ's listeners.ssl). Certificates and key come from PEM
 * files named in the config; TLS 1.2 is the lowest version accepted. Peer verification as RabbitMQ's
 * ssl_options: verify_peer asks for a client certificate and refuses one that fails verification
 * (unknown CA, expired); fail_if_no_peer_cert also refuses a client without one. A verified
 * certificate's CN is what SASL EXTERNAL logs in as (protocol/handshake.ts authenticateExternal).
 * reload() re-reads the files (SIGHUP): new handshakes use them, open connections keep theirs.
 *
 * Invariant: the AMQP layer only ever sees sockets that passed these checks. Deliberately not here:
 * the plain listener and connection bookkeeping (server.ts), the AMQP handshake (protocol/).
 */
import { readFileSync } from 'node:fs';
import { createServer, type SecureContextOptions, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { PeerIdentity } from '../protocol/handshake.js';

/** Lowest TLS version accepted (RabbitMQ 3.13 defaults to TLS 1.2 and 1.3 as well). */
export const TLS_MIN_VERSION = 'TLSv1.2';

export type TlsConfig = Pick<Config, 'tlsCert' | 'tlsKey' | 'tlsCa' | 'tlsVerifyPeer' | 'tlsFailIfNoPeerCert'>;

/** TLS is on when a certificate and its key are configured. */
export function tlsEnabled(c: TlsConfig): boolean {
  return c.tlsCert !== '' && c.tlsKey !== '';
}

function secureContextOptions(c: TlsConfig): SecureContextOptions {
  return {
    cert: readFileSync(c.tlsCert),
    key: readFileSync(c.tlsKey),
    ...(c.tlsCa !== '' ? { ca: readFileSync(c.tlsCa) } : {}),
    minVersion: TLS_MIN_VERSION,
  };
}

/** The CN of the peer's certificate (the first one when the subject has several). */
function commonName(socket: TLSSocket): string | undefined {
  const cn: unknown = socket.getPeerCertificate().subject?.CN;
  if (typeof cn === 'string') return cn;
  return Array.isArray(cn) && typeof cn[0] === 'string' ? cn[0] : undefined;
}

export class TlsListener {
  private readonly server: TlsServer;

  constructor(
    private readonly config: TlsConfig,
    onSocket: (socket: TLSSocket, peer: PeerIdentity) => void,
    private readonly log: Logger,
    handshakeTimeoutMs: number,
  ) {
    this.server = createServer({
      ...secureContextOptions(config),
      requestCert: config.tlsVerifyPeer,
      rejectUnauthorized: config.tlsFailIfNoPeerCert,
      handshakeTimeout: handshakeTimeoutMs,
    });
    this.server.on('secureConnection', (socket) => {
      const peer = this.check(socket);
      if (peer !== undefined) onSocket(socket, peer);
    });
    this.server.on('tlsClientError', (err) => this.log.info({ err: err.message }, 'TLS handshake failed'));
  }

  /** verify_peer without fail_if_no_peer_cert: no certificate is fine, a bad one is not. */
  private check(socket: TLSSocket): PeerIdentity | undefined {
    if (!this.config.tlsVerifyPeer) return { external: false, certCommonName: () => undefined };
    if (!socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) {
      this.log.info({ reason: String(socket.authorizationError) }, 'TLS client certificate refused');
      socket.destroy();
      return undefined;
    }
    const cn = socket.authorized ? commonName(socket) : undefined;
    return { external: true, certCommonName: () => cn };
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        this.server.on('error', (err) => this.log.error({ err }, 'TLS listener error'));
        resolve();
      });
    });
  }

  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('TLS listener is not listening');
    return { host: a.address, port: a.port };
  }

  /** Re-reads certificate, key and CA; throws (keeping the old ones) when they cannot be loaded. */
  reload(): void {
    this.server.setSecureContext(secureContextOptions(this.config));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
