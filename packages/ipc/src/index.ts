/// <reference types="node" preserve="true" />
// The published .d.ts files name Node types (Buffer, EventEmitter, NodeJS.*): they bring them along.
export { connect, IpcClient, DEFAULT_MAX_IN_FLIGHT } from './client.js';
export type { ConnectOptions, RequestOptions, SendOptions, ResponseParser, ErrorMapper, Credentials, IpcClientEvents, ProviderPolicy } from './client.js';
export { IpcError, isIpcError } from './errors.js';
/** @internal errors built without a stack trace (the client's CS_ERR_TRY_AGAIN, as IpcError.tryAgain) */
export { withoutStack } from './errors.js';
export { enterNetns, unshareNetns } from './netns.js';
export { setRoundRobinScheduling } from './sched.js';
/** @internal a number that changes when the event loop goes round (cpg's multicasts per turn) */
export { loopTurn } from './turns.js';
export { EVENT_INTO_HEAD, type EventInto } from './transport.js';
export { mapShared, unmapShared, type Mapping as SharedMapping } from './native.js';
export { createServer, invalidateAnswers, IpcServer, IpcServerConnection } from './server.js';
export type { ServerOptions, IpcServerEvents, IpcServerConnectionEvents } from './server.js';
export { CaptureWriter } from './capture-writer.js';
export { isCaptureWriter } from './capture-lines.js';
export { ConnectionCapture, processName } from './capture.js';
export type { CaptureOpenOptions, CaptureFrame, CaptureState, CaptureMode, CaptureDir, CaptureTransport } from './capture.js';
