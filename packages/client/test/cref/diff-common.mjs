// What the TypeScript halves of the differential tests (diff-cmap.mjs, diff-vq.mjs) share beside
// preamble.mjs's client: diff-common.h's constants and cs_error_t names, rc() in the form they
// print, and the buffered output, which each driver flushes where its C half flushes stdout.
import { C } from './preamble.mjs';

export { C };
export const NSLOT = 4;
/** How long a CS_DISPATCH_ONE waits for an event before the command prints "idle" (diff-common.h). */
export const IDLE_MS = 200;
export const manual = { dispatch: 'manual' };

const names = new Map(Object.entries(C.CsErrorCode).map(([k, v]) => [v, k]));
export const errname = (code) => names.get(code) ?? `CS_ERR_${code}`;

/** The lines printed and not flushed yet: a driver may rewrite one before flush(). */
export const out = [];
export const P = (s) => out.push(s);
export const flush = () => {
  if (out.length) process.stdout.write(`${out.join('\n')}\n`);
  out.length = 0;
};

/** [cs_error_t name, value, error]; anything but a CsError is a defect and is printed as one. */
export async function rc(f) {
  try {
    return ['CS_OK', await f()];
  } catch (e) {
    if (C.isCsError(e)) return [errname(e.code), undefined, e];
    return [`THROWN ${e?.name}: ${e?.message}`, undefined, e];
  }
}
