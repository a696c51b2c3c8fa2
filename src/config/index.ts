export * from './config.js';
export * from './cli-args.js';
