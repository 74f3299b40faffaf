// corosync 3.1.7's access rule (exec/ipc_glue.c, cs_ipcs_connection_accept), applied by the
// tap to the program's credentials: the daemon only sees the tap's, which are usually
// root's and would let anyone through.
import { connect, IpcError } from '@corosync-ts/ipc';
import { decode, encoders } from '@corosync-ts/codec-wasm';
import type { Cred } from './protocol.js';

const CS_OK = 1;
const CMAP_VALUETYPE_UINT8 = 2;

/**
 * true when corosync would accept a client with these credentials: uid 0 or gid 0, or a
 * uint8 key equal to 1 among uidgid.uid.<uid>, uidgid.config.uid.<uid>, uidgid.gid.<gid>,
 * uidgid.config.gid.<gid> (the keys corosync reads, in its order). Otherwise the reason.
 * Everything happens before `deadline` (a Date.now() time; past it: IpcError ETIMEDOUT) and
 * stops when `signal` aborts (ABORT_ERR).
 */
export async function corosyncAllows(cred: Cred, deadline: number, signal: AbortSignal): Promise<true | string> {
  if (cred.uid === 0 || cred.gid === 0) return true;
  const keys = [`uidgid.uid.${cred.uid}`, `uidgid.config.uid.${cred.uid}`, `uidgid.gid.${cred.gid}`, `uidgid.config.gid.${cred.gid}`];
  const cmap = await connect('cmap', { timeout: left(deadline), signal });
  try {
    for (const keyName of keys) {
      const res = await cmap.request(encoders.cmap.req.get({ keyName, valueLen: 8n }), { timeout: left(deadline), signal });
      const d = decode(res, { service: 'cmap', dir: 'res' });
      if (d.name !== 'cmap.get' || d.error !== CS_OK) continue;
      const f = d.fields as { type: number; value: Uint8Array };
      if (f.type === CMAP_VALUETYPE_UINT8 && f.value.length === 1 && f.value[0] === 1) return true;
    }
  } finally {
    await cmap.close();
  }
  return `uid ${cred.uid} gid ${cred.gid}: neither is 0 and no uidgid key allows them (corosync would answer EACCES)`;
}

/** The ms left until `deadline`; none left is a timeout, as if the last step had taken it all. */
export function left(deadline: number): number {
  const ms = deadline - Date.now();
  if (ms <= 0) throw new IpcError('ETIMEDOUT', 'the handshake timeout ran out');
  return ms;
}
