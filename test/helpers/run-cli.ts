/**
 * Runs the amqpd CLI from source (src/cli/main.ts) in a child process, for tests of process-level
 * behaviour (signals, exit codes) that must not depend on a prior `npm run build`.
 * Spawned as `vite-node test/helpers/run-cli.ts -- <amqpd flags>`.
 */
import { main } from '../../src/cli/main.js';

const dashdash = process.argv.indexOf('--');
void main(dashdash >= 0 ? process.argv.slice(dashdash + 1) : process.argv.slice(2));
