// Which bytes of a captured message C left uninitialised (stack garbage), from reading who fills
// the struct in libqb 2.0.6 / corosync 3.1.7 (see README.md, "Uninitialised bytes"). These
// ranges are masked when the golden test compares encoder output with the real bytes. Bytes not
// listed here are exactly what an encoder must produce.

const HDR_REQ = [[4, 4], [12, 4]]; // request header pads: id|pad|size|pad
const HDR_RES = [[4, 4], [12, 4], [20, 4]]; // response header pads: id|pad|size|pad|error|pad

/** a char[len] filled with strcpy() into a struct nobody memset: garbage after the NUL */
function charsTail(offset, len, s) {
  const n = Buffer.byteLength(s, 'utf8');
  return n + 1 < len ? [[offset + n + 1, len - n - 1]] : [];
}

/** ipc_glue.c's reply to an unknown request id: a bare header on the stack, nothing memset */
export const GLUE_ERROR_UNINIT = HDR_RES;

export function uninitRanges(v) {
  const f = v.fields;
  const ok = v.error === undefined || v.error === 1;
  const key = `${v.dir} ${v.name}`;
  switch (key) {
    // libqb memsets both handshake structs; libcmap memsets every request, corosync's cmap
    // service every reply and event except SET_CURRENT_MAP's bare header.
    case 'setup qb.connectionRequest':
    case 'setup qb.connectionResponse':
      return [];
    case 'res cmap.setCurrentMap':
      return HDR_RES;

    // libquorum: nothing memset
    case 'req quorum.getquorate':
    case 'req quorum.trackstop':
    case 'req quorum.gettype':
      return HDR_REQ;
    case 'req quorum.trackstart':
    case 'req quorum.modelGettype':
      return [...HDR_REQ, [20, 4]];
    // vsf_quorum.c: replies built on the stack, not memset
    case 'res quorum.getquorate':
    case 'res quorum.gettype':
    case 'res quorum.modelGettype':
      return [...HDR_RES, [28, 4]];
    case 'res quorum.trackstart':
    case 'res quorum.trackstop':
      return HDR_RES;
    // V0/V1 quorum notifications: a VLA, not memset; the 4 bytes after the list are the struct's
    // tail padding (the list starts 4 bytes before sizeof); the V1 nodelist buffer IS memset.
    case 'evt quorum.notification':
      return [...HDR_RES, [28, 4], [44 + 4 * f.viewList.length, 4]];
    case 'evt quorum.v1QuorumNotification':
      return [...HDR_RES, [28, 4], [36, 4], [52 + 4 * f.viewList.length, 4]];
    case 'evt quorum.v1NodelistNotification':
      return [];

    // libvotequorum: nothing memset, names strcpy()d
    case 'req votequorum.getinfo':
    case 'req votequorum.setexpected':
      return [...HDR_REQ, [20, 4]];
    case 'req votequorum.setvotes':
    case 'req votequorum.trackstop':
      return HDR_REQ;
    case 'req votequorum.trackstart':
      return [...HDR_REQ, [28, 4]];
    case 'req votequorum.qdeviceRegister':
    case 'req votequorum.qdeviceUnregister':
      return [...HDR_REQ, ...charsTail(16, 255, f.name), [271, 1]];
    case 'req votequorum.qdeviceUpdate':
      return [...HDR_REQ, ...charsTail(16, 255, f.oldname), ...charsTail(271, 255, f.newname), [526, 2]];
    case 'req votequorum.qdevicePoll':
      return [...HDR_REQ, ...charsTail(16, 255, f.name), [271, 1], [276, 4], [284, 4]];
    case 'req votequorum.qdeviceMasterWins':
      return [...HDR_REQ, ...charsTail(16, 255, f.name), [271, 1], [276, 4]];
    case 'res votequorum.status':
      return HDR_RES;
    // getinfo: qdevice_name is memset+strcpy'd, the struct's 5 tail bytes are not; on error
    // (unknown node) nothing but the header is written.
    case 'res votequorum.getinfo':
      return ok ? [...HDR_RES, [315, 5]] : [...HDR_RES, [24, 296]];
    case 'evt votequorum.quorumNotification':
      return [...HDR_RES, [28, 4], [44, 4]];
    case 'evt votequorum.expectedvotesNotification':
      return [...HDR_RES, [36, 4]];
    case 'evt votequorum.nodelistNotification':
      return [...HDR_RES, [36, 4], [52, 4]];

    // libcfg / exec/cfg.c: nothing memset
    case 'req cfg.getNodeAddrs':
      return [...HDR_REQ, [20, 4]];
    case 'req cfg.localGet':
      return HDR_REQ;
    case 'res cfg.getNodeAddrs':
      return ok ? HDR_RES : [...HDR_RES, [24, 8]];
    case 'res cfg.localGet':
      return [...HDR_RES, [28, 4]];
    case 'res quorum.error':
    case 'res cfg.error':
      return HDR_RES;
    default:
      if (v.service === 'cmap') return [];
      throw new Error(`no uninit rule for ${key}`);
  }
}
