/**
 * Command-line parsing with yargs over the option table of config.ts: each option becomes a flag
 * with its env var named in the help. yargs does not read the environment itself (no `.env()`),
 * because buildConfig applies the documented precedence and checks in one place.
 */
import yargs from 'yargs';
import { type Config, ConfigError, OPTIONS, buildConfig, envVarName } from './config.js';

export type ParseResult =
  | { readonly kind: 'config'; readonly config: Config }
  | { readonly kind: 'exit'; readonly output: string; readonly code: number };

const aliases = (names: readonly string[] = []): string => names.map((a) => ` [also env ${a}]`).join('');

export async function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<ParseResult> {
  let output = '';
  let exitCode: number | undefined;
  let parser = yargs([...argv])
    .scriptName('amqpd')
    .usage('$0 [options]\n\nAn AMQP 0-9-1 broker, a drop-in substitute for RabbitMQ 3.13.')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail((msg: string | null, err: Error | null) => {
      throw new ConfigError(msg ?? err?.message ?? 'bad arguments');
    });
  for (const spec of OPTIONS) {
    parser = parser.option(spec.flag, {
      type: spec.kind === 'integer' ? 'number' : spec.kind === 'boolean' ? 'boolean' : 'string',
      describe: `${spec.describe} [env ${envVarName(spec.flag)}]${aliases(spec.envAliases)} [default: ${String(spec.default)}]`,
      ...(spec.choices !== undefined ? { choices: [...spec.choices] } : {}),
    });
  }
  parser = parser.parserConfiguration({ 'camel-case-expansion': false });
  const args = (await parser.parseAsync([...argv], {}, (_err: Error | undefined, _argv: unknown, out: string) => {
    if (out) output = out;
  })) as Record<string, unknown>;
  if (args['help'] === true) exitCode = 0;
  if (exitCode !== undefined) return { kind: 'exit', output, code: exitCode };
  const explicit: Partial<Record<keyof Config, unknown>> = {};
  for (const spec of OPTIONS) {
    const v = args[spec.flag];
    if (v !== undefined) explicit[spec.key] = v;
  }
  return { kind: 'config', config: buildConfig(explicit, env) };
}
