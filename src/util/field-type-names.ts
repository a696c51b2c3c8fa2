/**
 * RabbitMQ's names for AMQP field-value types, keyed by their wire tag, as they appear in its error
 * texts ("received the value '10' of type 'signedint'"). One table for every layer: the codec
 * exposes it through fieldTypeName, and the engine uses it for equivalence and argument texts
 * without importing codec code at runtime. Pure data; imports nothing.
 */
export const FIELD_TYPE_NAMES = {
  t: 'bool',
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'signedint',
  i: 'unsignedint',
  l: 'long',
  f: 'float',
  d: 'double',
  D: 'decimal',
  S: 'longstr',
  A: 'array',
  T: 'timestamp',
  F: 'table',
  V: 'void',
  x: 'binary',
} as const;
