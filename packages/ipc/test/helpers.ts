import { readdirSync } from 'node:fs';
import { createServer, type IpcServer, type IpcServerConnection, type ServerOptions } from '../src/index.js';

export { ipcFds, shmMappings } from '@corosync-ts/nstest/core';

/** A request frame: 16-byte header (id, size) + payload filled with `fill`. */
export function reqFrame(id: number, size: number, fill = 0): Uint8Array {
  const b = new Uint8Array(size).fill(fill);
  const v = new DataView(b.buffer);
  v.setInt32(0, id, true);
  v.setInt32(4, 0, true);
  v.setInt32(8, size, true);
  v.setInt32(12, 0, true);
  return b;
}

/** A response/event frame: 24-byte header (id, size, error) + payload. */
export function resFrame(id: number, payload: Uint8Array = new Uint8Array(0), error = 1): Uint8Array {
  const b = new Uint8Array(24 + payload.length);
  const v = new DataView(b.buffer);
  v.setInt32(0, id, true);
  v.setInt32(8, b.length, true);
  v.setInt32(16, error, true);
  b.set(payload, 24);
  return b;
}

/** The answer of our echo servers: the request's id + 1000, and the request as payload. */
export function echoed(request: Uint8Array): Uint8Array {
  return resFrame(header(request).id + 1000, request);
}

/** Our server on `name`, listening, answering every request with `echoed`; `conns` in accept order. */
export async function echoServer(name: string, opts: ServerOptions = {}): Promise<{ server: IpcServer; conns: IpcServerConnection[] }> {
  const server = createServer(name, opts);
  const conns: IpcServerConnection[] = [];
  server.on('connection', (c) => {
    conns.push(c);
    c.on('request', (f) => c.respond(echoed(f)));
  });
  await server.listen();
  return { server, conns };
}

export function header(frame: Uint8Array): { id: number; size: number; error: number } {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { id: v.getInt32(0, true), size: v.getInt32(8, true), error: frame.length >= 24 ? v.getInt32(16, true) : 0 };
}

/** /dev/shm entries created by libqb-style connections of this process. */
export function shmFiles(pid = process.pid): string[] {
  return readdirSync('/dev/shm').filter((f) => f.startsWith(`qb-${pid}-`));
}

export async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function uniqueName(tag: string): string {
  return `cts-ipc-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
