/**
 * Field values as they travel in AMQP field tables and arrays (RabbitMQ/Qpid tag column, see
 * ../shared/reference/rabbitmq-compat.md §2c point 12):
 *
 *   t bool  b int8  B uint8  s int16  u uint16  I int32  i uint32  l int64  f float32  d float64
 *   D decimal  S longstr  A array  T timestamp  F table  V void  x byte array
 *
 * Every value keeps its tag, so a table decoded and encoded again is byte-identical, and error
 * texts can name the type as RabbitMQ does ("of type 'signedint'").
 */

export type FieldValue =
  | { readonly tag: 't'; readonly value: boolean }
  | { readonly tag: 'b' | 'B' | 's' | 'u' | 'I' | 'i'; readonly value: number }
  | { readonly tag: 'l'; readonly value: bigint }
  | { readonly tag: 'f' | 'd'; readonly value: number }
  | { readonly tag: 'D'; readonly value: { readonly scale: number; readonly value: number } }
  | { readonly tag: 'S'; readonly value: Buffer }
  | { readonly tag: 'x'; readonly value: Buffer }
  | { readonly tag: 'A'; readonly value: readonly FieldValue[] }
  | { readonly tag: 'T'; readonly value: bigint }
  | { readonly tag: 'F'; readonly value: FieldTable }
  | { readonly tag: 'V'; readonly value: null };

/** Insertion order is wire order; keys are unique (a duplicate key on the wire: the last one wins). */
export type FieldTable = ReadonlyMap<string, FieldValue>;

export type FieldTag = FieldValue['tag'];
