/**
 * The codec's public surface: bytes ⇄ frames, methods, content headers, field tables.
 * Other layers import from here (or `import type` from the files), never from cursor.ts/writer.ts
 * internals, except tests.
 */
export type { FieldTable, FieldTag, FieldValue } from './field-types.js';
export {
  decodeArray,
  decodeTable,
  encodeArray,
  encodeTable,
  fieldTypeName,
  fieldValueEquals,
  fieldValueFromJs,
  fieldValueToJs,
  tableEquals,
  tableFromJs,
  tableSize,
  tableToJs,
  writeTable,
  type JsFieldValue,
} from './field-table.js';
export {
  EMPTY_PROPERTIES,
  EMPTY_RAW_PROPERTIES,
  decodeProperties,
  encodeProperties,
  properties,
  propertiesSize,
  writeProperties,
  type BasicProperties,
  type BasicPropertiesInit,
} from './properties.js';
export * from './methods.generated.js';
export {
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEADER_BYTES,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FrameReader,
  PROTOCOL_HEADER,
  PROTOCOL_HEADER_BYTES,
  checkProtocolHeader,
  type Frame,
  type FrameReaderOptions,
  type ProtocolHeaderCheck,
} from './frame-reader.js';
export {
  BODY_INLINE_MAX_BYTES,
  bodyChunkBytes,
  contentHeaderFrameSize,
  encodeContentFrames,
  encodeDelivery,
  encodeHeartbeat,
  writeContentHeaderFrame,
} from './frame-writer.js';
export { DECODE_ERROR_CODE } from './cursor.js';
