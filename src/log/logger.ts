/**
 * Logging: one pino root logger made by the server and passed down; connections and channels get
 * children carrying `{ conn, remote }` and `{ ch }`. Nothing imports a global logger, so embedded
 * brokers (tests) each log with their own level and destination.
 *
 * Format (the amqpd command only): JSON lines by default; `pretty` writes human-readable lines
 * through pino-pretty as a synchronous stream (no worker thread, loaded only when chosen, so a
 * JSON start pays nothing for it); `auto` is pretty when stdout is a terminal, JSON otherwise.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Config's --log-format values (src/config; the log layer imports nothing from it). */
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface RootLoggerOptions {
  readonly level: string;
  /** Defaults to stdout. Tests pass a stream to capture lines. */
  readonly destination?: DestinationStream;
}

export function createRootLogger(opts: RootLoggerOptions): Logger {
  const options = { level: opts.level, base: { pid: process.pid }, name: 'amqpd' };
  return opts.destination !== undefined ? pino(options, opts.destination) : pino(options);
}

/** `auto` resolved against whether stdout is a terminal. */
export function resolveLogFormat(format: LogFormat, stdoutIsTty: boolean): 'json' | 'pretty' {
  if (format === 'auto') return stdoutIsTty ? 'pretty' : 'json';
  return format;
}

/** The amqpd command's logger on stdout, in the chosen format. */
export async function createCliLogger(level: string, format: LogFormat): Promise<Logger> {
  const tty = process.stdout.isTTY === true;
  if (resolveLogFormat(format, tty) === 'json') return createRootLogger({ level });
  const { default: pretty } = await import('pino-pretty');
  const destination = pretty({
    sync: true,
    colorize: tty,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l o',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
  return createRootLogger({ level, destination });
}

export function connectionLogger(root: Logger, conn: string, remote: string): Logger {
  return root.child({ conn, remote });
}

export function channelLogger(connLog: Logger, ch: number): Logger {
  return connLog.child({ ch });
}
