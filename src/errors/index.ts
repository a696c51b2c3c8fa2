export * from './reply-codes.js';
export * from './close-reasons.js';
export * from './amqp-error.js';
