// What both the capture writer and the connections that record to it need: the writer's brand
// and the fields a connection's lines share. A file of its own so that ./capture.ts (which every
// connection loads) does not pull in ./capture-writer.ts: the client's bundle loads the writer
// only when a capture file is opened.
import type { CaptureCommon } from './capture.js';
import type { CaptureWriter } from './capture-writer.js';

// The client's bundle carries its own copy of the writer (scripts/bundle.mjs inlines ipc), and
// takes a writer its user opened with this package: `instanceof` checks a registry brand.
export const CAPTURE_WRITER_BRAND = Symbol.for('@corosync-ts/ipc.CaptureWriter');

/** True for a CaptureWriter of any copy of this package (its class need not be loaded). */
export function isCaptureWriter(value: unknown): value is CaptureWriter {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CAPTURE_WRITER_BRAND] === true;
}

export const sepStr = (s: string) => JSON.stringify(s);

/** A state line's fields from conn to transport. */
export function stateMid(c: CaptureCommon): string {
  return `,"conn":${c.conn}${who(c)},"service":${sepStr(c.service)},"transport":"${c.transport}"`;
}

export function who(c: CaptureCommon): string {
  let s = '';
  if (c.pid !== undefined) s += `,"pid":${c.pid}`;
  if (c.proc !== undefined) s += `,"proc":${sepStr(c.proc)}`;
  return s;
}
