// What every TypeScript half of a C reference comparison starts with: the built client, the line
// printer, and rc(), which turns a call's outcome into the [cs_error_t, value] pair the C side prints.
export const C = await import(new URL('../../dist/index.js', import.meta.url).href);

export const P = (s) => process.stdout.write(`${s}\n`);
export const str = (b) => Buffer.from(b).toString('latin1');

/** [cs_error_t, value]: 1 on success, the CsError's code otherwise. */
export async function rc(p) {
  try {
    return [1, await p];
  } catch (e) {
    if (C.isCsError(e)) return [e.code, undefined];
    throw e;
  }
}
