export * from './reply-codes.js';
export * from './amqp-error.js';
