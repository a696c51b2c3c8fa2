/**
 * Runs amqpctl from source (src/cli/amqpctl.ts) in a child process, for tests of its exit codes
 * and output without a prior `npm run build`. Spawned as `vite-node test/helpers/run-ctl.ts -- <args>`.
 */
import { main } from '../../src/cli/amqpctl.js';

const dashdash = process.argv.indexOf('--');
void main(dashdash >= 0 ? process.argv.slice(dashdash + 1) : process.argv.slice(2));
