/// <reference types="node" preserve="true" />
// The published .d.ts files name Node types (Buffer, EventEmitter, NodeJS.*): they bring them along.
export { connect, IpcClient } from './client.js';
export type { ConnectOptions, RequestOptions, Credentials, IpcClientEvents } from './client.js';
export { IpcError, isIpcError } from './errors.js';
export { createServer, IpcServer, IpcServerConnection } from './server.js';
export type { ServerOptions, IpcServerEvents, IpcServerConnectionEvents } from './server.js';
