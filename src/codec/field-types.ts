/**
 * Field values as they travel in AMQP field tables and arrays (RabbitMQ/Qpid tag column, see
 * ../shared/reference/rabbitmq-compat.md §2c point 12):
 *
 *   t bool  b int8  B uint8  s int16  u uint16  I int32  i uint32  l int64  f float32  d float64
 *   D decimal  S longstr  A array  T timestamp  F table  V void  x byte array
 *
 * Every value keeps its tag, so a table decoded and encoded again is byte-identical, and error
 * texts can name the type as RabbitMQ does ("of type 'signedint'"). The shape itself, the type
 * names and equality live in src/util/field-values.ts, shared with the broker; this file only
 * re-exports the types for the codec's modules.
 */
export type { FieldTable, FieldTag, FieldValue } from '../util/field-values.js';
