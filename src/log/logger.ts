/**
 * Logging: one pino root logger made by the server and passed down; connections and channels get
 * children carrying `{ conn, remote }` and `{ ch }`. Nothing imports a global logger, so embedded
 * brokers (tests) each log with their own level and destination.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface RootLoggerOptions {
  readonly level: string;
  /** Defaults to stdout. Tests pass a stream to capture lines. */
  readonly destination?: DestinationStream;
}

export function createRootLogger(opts: RootLoggerOptions): Logger {
  const options = { level: opts.level, base: { pid: process.pid }, name: 'amqpd' };
  return opts.destination !== undefined ? pino(options, opts.destination) : pino(options);
}

export function connectionLogger(root: Logger, conn: string, remote: string): Logger {
  return root.child({ conn, remote });
}

export function channelLogger(connLog: Logger, ch: number): Logger {
  return connLog.child({ ch });
}
