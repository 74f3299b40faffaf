import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decode, type CaptureEnd } from '@corosync-ts/codec-wasm';
import { crashTraceEnv, type Namespace } from '@corosync-ts/nstest';
import { afterAll } from 'vitest';

export const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm --filter @corosync-ts/tap... build\` first`);

/** A scratch directory (captures, symlinks), removed after the suite that made it. Call in a describe body. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'corosync-tap-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** argv that runs corosync-tap (inside a namespace through ns.exec / ns.spawn). */
export function tapArgv(capture: string, cmd: string[], opts: string[] = []): string[] {
  return [process.execPath, CLI, '-o', capture, ...opts, '--', ...cmd];
}

/** corosync-tap running `cmd`, both with the crash trace preloaded: a tap or program that dies of a signal says where in its stderr. */
export async function viaTap(ns: Namespace, capture: string, cmd: string[], opts: string[] = [], input?: string) {
  return ns.exec(tapArgv(capture, cmd, opts), { timeout: 60_000, env: await crashTraceEnv(), ...(input !== undefined ? { input } : {}) });
}

export interface Line {
  t: number;
  conn: number;
  pid?: number;
  proc?: string;
  service: string;
  transport: 'socket' | 'shm';
  dir?: 'req' | 'res' | 'evt' | 'setup';
  hex?: string;
  state?: 'open' | 'closed' | 'flow' | 'dropped';
  level?: number;
  by?: string;
  error?: string;
}

/**
 * A capture's header, its frame and state lines, and its end line if it has one (last, counting
 * exactly the frame lines before it: checked here).
 */
export function readCapture(path: string): { header: Record<string, unknown>; lines: Line[]; end: CaptureEnd | undefined } {
  let raw = readFileSync(path);
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
  const all = raw.toString('utf8').split('\n').filter((l) => l !== '');
  const rest = all.slice(1).map((l) => JSON.parse(l) as Line | CaptureEnd);
  const end = rest.length > 0 && 'end' in rest.at(-1)! ? (rest.pop() as CaptureEnd) : undefined;
  const lines = rest as Line[];
  if (lines.some((l) => 'end' in l)) throw new Error(`${path}: an end line before the last line`);
  const frames = lines.filter((l) => l.hex !== undefined).length;
  if (end && end.frames !== frames) throw new Error(`${path}: the end line counts ${end.frames} frames, the capture has ${frames}`);
  return { header: JSON.parse(all[0]!) as Record<string, unknown>, lines, end };
}


export interface ConnSummary {
  service: string;
  transport: string;
  pid: number | undefined;
  setup: string[];
  req: number;
  res: number;
  evt: number;
  states: string[];
  by: string | undefined;
  names: string[];
}

/**
 * Decode every frame of a capture with @corosync-ts/codec-wasm and summarise it per
 * connection. Frames that do not decode are listed with the decoder's complaint.
 */
export function analyse(lines: Line[]): {
  conns: Map<number, ConnSummary>;
  frames: number;
  decoded: number;
  /** Frames the decoder rejected as malformed: never expected. */
  undecoded: string[];
  order: string[];
} {
  const conns = new Map<number, ConnSummary>();
  const lastT = new Map<number, number>();
  const undecoded: string[] = [];
  const order: string[] = [];
  let frames = 0;
  let decoded = 0;
  for (const l of lines) {
    let c = conns.get(l.conn);
    if (!c) {
      c = { service: l.service, transport: l.transport, pid: l.pid, setup: [], req: 0, res: 0, evt: 0, states: [], by: undefined, names: [] };
      conns.set(l.conn, c);
    }
    if ((lastT.get(l.conn) ?? 0) > l.t) order.push(`conn ${l.conn}: t went back to ${l.t}`);
    lastT.set(l.conn, l.t);
    if (l.state) {
      c.states.push(l.state);
      if (l.by) c.by = l.by;
      continue;
    }
    frames++;
    const dir = l.dir!;
    if (dir === 'setup') {
      c.setup.push(decode(bytesOf(l.hex!), { dir: 'setup' }).name);
      decoded++;
      continue;
    }
    if (c.states[0] !== 'open' || c.setup.length !== 2) order.push(`conn ${l.conn}: ${dir} before setup + open`);
    c[dir]++;
    try {
      const d = decode(bytesOf(l.hex!), { service: l.service as 'cmap', dir });
      c.names.push(`${dir}:${d.name}`);
      decoded++;
    } catch (e) {
      undecoded.push(`${l.service} ${dir} ${l.hex!.slice(0, 64)}: ${(e as Error).message}`);
    }
  }
  return { conns, frames, decoded, undecoded, order };
}

function bytesOf(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
