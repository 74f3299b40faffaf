// Filters, and their form in the URL hash (so that a view can be shared, even from file://).
import { runtimeMessages } from '@corosync-ts/codec-wasm';
import { connName, messageName, refusedSetup, type Capture } from './model.js';

export interface Filters {
  service: string;
  msg: string;
  /** '' any, 'ok' CS_OK or no error field, 'err' any error (cs_error_t != 1, or undecodable), 'decode' undecodable, or a cs_error_t number */
  error: string;
  conn: string;
  dir: string;
  q: string;
  /** a view of several captures: one file's rows only (its index) */
  file: string;
}

export const EMPTY: Filters = { service: '', msg: '', error: '', conn: '', dir: '', q: '', file: '' };
const KEYS = Object.keys(EMPTY) as (keyof Filters)[];

export function filtersFromHash(hash: string): { filters: Filters; sel: number } {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const filters = { ...EMPTY };
  for (const k of KEYS) filters[k] = p.get(k) ?? '';
  const sel = Number(p.get('sel') ?? '-1');
  return { filters, sel: Number.isInteger(sel) ? sel : -1 };
}

export function filtersToHash(f: Filters, sel: number): string {
  const p = new URLSearchParams();
  for (const k of KEYS) if (f[k] !== '') p.set(k, f[k]);
  if (sel >= 0) p.set('sel', String(sel));
  const s = p.toString();
  return s ? `#${s}` : '';
}

/** Indices of the frames from `from` on that pass, in capture order (while a capture loads, only the new ones). */
export function applyFilters(c: Capture, f: Filters, from = 0): Int32Array {
  const svc = f.service === '' ? -1 : c.services.indexOf(f.service);
  if (f.service !== '' && svc < 0) return new Int32Array(0);
  const dir = f.dir === '' ? -1 : ['req', 'res', 'evt', 'setup'].indexOf(f.dir);
  const conn = f.conn === '' ? -1 : Number(f.conn);
  const file = f.file === '' || !c.file ? -1 : Number(f.file);
  const msgIdx = f.msg === '' ? null : runtimeMessages.findIndex((m) => m.name === f.msg);
  const errCode = /^\d+$/.test(f.error) ? Number(f.error) : -1;
  const q = f.q.trim().toLowerCase();
  // Text: decide once per message name and per connection, not once per frame.
  let msgOk: Uint8Array | null = null;
  let connOk: Set<number> | null = null;
  if (q !== '') {
    msgOk = new Uint8Array(runtimeMessages.length + 2);
    runtimeMessages.forEach((m, k) => { if (m.name.toLowerCase().includes(q)) msgOk![k] = 1; });
    connOk = new Set();
    for (const ci of c.conns.values()) {
      const hay = `${ci.proc ?? ''} ${ci.pid ?? ''} conn ${connName(ci)} ${ci.service} ${ci.transport}${ci.file !== undefined ? ` ${c.files![ci.file]!.name}` : ''}`.toLowerCase();
      if (hay.includes(q)) connOk.add(ci.conn);
    }
  }
  const out = new Int32Array(Math.max(0, c.count - from));
  let k = 0;
  for (let i = from; i < c.count; i++) {
    if (svc >= 0 && c.svc[i] !== svc) continue;
    if (dir >= 0 && c.dir[i] !== dir) continue;
    if (conn >= 0 && c.conn[i] !== conn) continue;
    if (file >= 0 && c.file![i] !== file) continue;
    const m = c.msg[i]!;
    if (msgIdx !== null && m !== msgIdx) continue;
    if (f.error !== '') {
      const hasErrField = c.dir[i] === 1 || c.dir[i] === 2;
      const e = c.err[i]!;
      const refused = refusedSetup(c, i);
      if (f.error === 'ok' && (m < 0 || (hasErrField && e !== 1) || refused)) continue;
      if (f.error === 'err' && !(m === -1 || (hasErrField && e !== 1) || refused)) continue;
      if (f.error === 'decode' && m !== -1) continue;
      if (errCode >= 0 && !(hasErrField && e === errCode)) continue;
    }
    if (q !== '' && !(m >= 0 ? msgOk![m] : messageName(c, i).toLowerCase().includes(q)) && !connOk!.has(c.conn[i]!)) continue;
    out[k++] = i;
  }
  return out.subarray(0, k);
}
