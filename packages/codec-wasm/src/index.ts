export { catalog, messages, REQUEST_HEADER, RESPONSE_HEADER } from './catalog.js';
export type { Catalog, MessageSpec, FieldSpec, FieldType } from './catalog.js';
export type {
  Service, Direction, Decoded, DecodedMessage, EncodeHeader, Encoders, FieldsOf, EncodeFieldsOf,
  MessageName, SpecOf, RingId, NodeState, CpgAddress, KnetLinkStatus,
} from './types.js';
export {
  DecodeError, EncodeError, isDecodeError, isEncodeError,
  type DecodeErrorKind, type EncodeErrorKind, type DecodeErrorDetails, type EncodeErrorDetails,
} from './errors.js';
export {
  decode, encode, encodeMessage, encoders, findMessage, runtimeMessages, codec, SERVICE_CODES, DIR_CODES,
  type RuntimeMessage, type RuntimeField,
} from './codec.js';
export {
  QB_REQUEST_HEADER_SIZE, QB_RESPONSE_HEADER_SIZE, QB_CONNECTION_REQUEST_SIZE, QB_CONNECTION_RESPONSE_SIZE,
  QB_IPC_MSG_AUTHENTICATE, QB_IPC_MSG_DISCONNECT, QB_IPC_SOCKET, QB_IPC_SHM,
  readRequestHeader, readResponseHeader, encodeConnectionRequest, FrameSplitter, splitFrames, decodeAll, type SplitOptions,
} from './frames.js';
export { encodeCmapValue, decodeCmapValue, fixedCmapValueAt, fixedCmapValueSize, type CmapValue } from './cmap-value.js';
export { decodedToJSON, toJsonValue, toHex, fromHex, type Json } from './json.js';
export {
  CAPTURE_FORMAT_VERSION, CAPTURE_MAX_LINE, GUNZIP_MAX_BYTES, GzipTooLargeError, CaptureFormatError, isCaptureFormatError, CaptureParser, parseCaptureHeader, parseCaptureRecord, parseCaptureEnd,
  recordFromObject, isGzip, gunzip, readCapture, scanCapture, SCAN_DIRS,
  type CaptureHeader, type CaptureRecord, type CaptureFrameRecord, type CaptureStateRecord, type CaptureEnd, type CaptureParserEvents,
  type ParsedCapture, type CaptureScanSink, type CaptureScanFrom, type CaptureScanResult, type CaptureMode, type CaptureDir, type CaptureTransport,
} from './capture.js';
