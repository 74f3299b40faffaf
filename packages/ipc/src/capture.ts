// What a connection records to a capture file (format v1, see
// packages/codec-wasm/capture/FORMAT.md): its lines, through a CaptureWriter
// (./capture-writer.ts), and the capture's types. Node-only; the reader lives in codec-wasm.
import { readFileSync } from 'node:fs';
import type { CaptureWriter } from './capture-writer.js';
import { stateMid } from './capture-lines.js';

// The type only: its class stays out of what imports this file.
export type { CaptureWriter };

export type CaptureMode = 'client' | 'mock' | 'tap';
export type CaptureTransport = 'socket' | 'shm';
export type CaptureDir = 'req' | 'res' | 'evt' | 'setup';

export interface CaptureOpenOptions {
  /** Who records: our client (its own traffic), the mock (every client it serves) or a tap. */
  mode: CaptureMode;
  /** The recording program or package, and its version. */
  name: string;
  version: string;
  /** The corosync version, where known. */
  corosync?: string;
  /** Defaults to os.hostname(). */
  host?: string;
  /**
   * Called once if writing fails (disk full, file removed...); the writer then stops recording
   * so that the traffic it watches is never disturbed. Default: a process warning.
   */
  onError?: (err: Error) => void;
  /**
   * Bytes of shared memory between the recorded thread and the writer thread (default 8 MiB):
   * what a burst can hold while the writer is busy before lines are dropped (and counted).
   */
  ringBytes?: number;
}

export interface CaptureCommon {
  conn: number;
  service: string;
  transport: CaptureTransport;
  pid?: number;
  proc?: string;
}

export interface CaptureFrame extends CaptureCommon {
  dir: CaptureDir;
  /** When the frame was seen (from now()); default: now. */
  t?: number;
  /** The whole frame as it crossed the transport, libqb header included. */
  bytes: Uint8Array;
}

export interface CaptureState extends CaptureCommon {
  /** open: after the handshake; closed: ended (or refused at the handshake); flow: the server's flow control changed. */
  state: 'open' | 'closed' | 'flow';
  by?: 'client' | 'server' | 'error';
  error?: string;
  /** For 'flow': libqb's flow-control level, 0 (off), 1 or 2 (the client must not send). */
  level?: number;
  /** When it happened (from now()); default: now. */
  t?: number;
}

/** `/proc/PID/comm` (the process name the kernel knows), or undefined when it cannot be read. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

/**
 * The lines of one libqb connection in a capture: the client and the server hooks hold one
 * each (or none, which is the whole cost of capturing when it is off).
 */
export class ConnectionCapture {
  readonly conn: number;
  private readonly base: CaptureCommon;
  // The registered middles of this connection's frame lines, per direction (fields, not a
  // record indexed by the direction: a keyed load per frame).
  private readonly reqPrefix: number;
  private readonly resPrefix: number;
  private readonly evtPrefix: number;
  private ended = false;
  private level = 0;

  constructor(
    private readonly writer: CaptureWriter,
    service: string,
    transport: CaptureTransport,
    pid: number | undefined,
  ) {
    this.conn = writer.newConnection();
    this.base = { conn: this.conn, service, transport };
    if (pid !== undefined && pid > 0) {
      this.base.pid = pid;
      const proc = processName(pid);
      if (proc !== undefined) this.base.proc = proc;
    }
    const mid = `${stateMid(this.base)},"dir":"`;
    this.reqPrefix = writer.linePrefix(`${mid}req","hex":"`);
    this.resPrefix = writer.linePrefix(`${mid}res","hex":"`);
    this.evtPrefix = writer.linePrefix(`${mid}evt","hex":"`);
  }

  /** The handshake: both setup frames with the times they were seen, then the 'open' state. */
  opened(request: Uint8Array, tRequest: number, response: Uint8Array, tResponse: number): void {
    this.writer.frame({ ...this.base, dir: 'setup', bytes: request, t: tRequest });
    this.writer.frame({ ...this.base, dir: 'setup', bytes: response, t: tResponse });
    this.writer.state({ ...this.base, state: 'open' });
  }

  frame(dir: 'req' | 'res' | 'evt', bytes: Uint8Array): void {
    if (!this.ended) this.writer.framePrefixed(dir === 'res' ? this.resPrefix : dir === 'req' ? this.reqPrefix : this.evtPrefix, bytes, this.conn, this.base);
  }

  /**
   * The connection's flow-control level as the server set it (seen by the server, or by a client
   * about to send): 0 (off), 1 or 2. Recorded when it changes.
   */
  flow(level: number): void {
    if (this.ended || level === this.level) return;
    this.level = level;
    this.writer.state({ ...this.base, state: 'flow', level });
  }

  closed(by?: 'client' | 'server' | 'error', error?: string): void {
    if (this.ended) return;
    this.ended = true;
    const s: CaptureState = { ...this.base, state: 'closed' };
    if (by !== undefined) s.by = by;
    if (error !== undefined) s.error = error;
    this.writer.state(s);
  }
}

/**
 * Records a handshake the server refused (its setup response carries a negative errno): both
 * setup frames, then a 'closed' state by the server with the error. A refusal names no
 * transport (libqb sends connection type 0 with it): the client's line says 'socket' unless the
 * response names shm; the server's says the transport it offers.
 */
export function recordRefusal(
  writer: CaptureWriter | undefined,
  r: { service: string; request: Uint8Array; tRequest: number; response: Uint8Array; tResponse: number; error: string; pid: number; transport?: CaptureTransport },
): void {
  if (!writer || writer.closed) return;
  const type = r.response.length >= 32 ? new DataView(r.response.buffer, r.response.byteOffset, r.response.byteLength).getUint32(24, true) : 0;
  const transport = r.transport ?? (type === 1 ? 'shm' : 'socket');
  const base: CaptureCommon = { conn: writer.newConnection(), service: r.service, transport };
  if (r.pid > 0) {
    base.pid = r.pid;
    const proc = processName(r.pid);
    if (proc !== undefined) base.proc = proc;
  }
  writer.frame({ ...base, dir: 'setup', bytes: r.request, t: r.tRequest });
  writer.frame({ ...base, dir: 'setup', bytes: r.response, t: r.tResponse });
  writer.state({ ...base, state: 'closed', by: 'server', error: r.error });
}
