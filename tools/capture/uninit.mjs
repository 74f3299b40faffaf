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
    case 'req cfg.ringStatusGet':
    case 'req cfg.reloadConfig':
    case 'req cfg.reopenLogFiles':
    case 'req cfg.trackstop':
      return HDR_REQ;
    case 'req cfg.tryShutdown':
    case 'req cfg.replytoShutdown':
      return [...HDR_REQ, [20, 4]];
    case 'req cfg.nodeStatusGet':
      return [...HDR_REQ, [20, 4], [28, 4]];
    // a packed one-byte struct member; the 7 bytes up to sizeof are the stack's
    case 'req cfg.trackstart':
      return [...HDR_REQ, [17, 7]];
    // cs_name_t strcpy()d: garbage after the NUL (length = strlen + 1), then the struct tail
    case 'req cfg.killNode': {
      const n = Buffer.byteLength(f.reason, 'utf8') + 1;
      return [...HDR_REQ, [20, 4], [26 + n, 256 - n], [282, 6]];
    }
    // snprintf()/strcpy() into a stack struct: after each NUL, and the unused slots, are garbage
    case 'res cfg.ringStatusGet':
      return [
        ...HDR_RES,
        [28, 4],
        ...f.interfaceName.flatMap((x, i) => charsTail(32 + 128 * i, 128, x)),
        ...(f.interfaceCount < 16 ? [[32 + 128 * f.interfaceCount, 128 * (16 - f.interfaceCount)]] : []),
        ...f.interfaceStatus.flatMap((x, i) => charsTail(2080 + 512 * i, 512, x)),
        ...(f.interfaceCount < 16 ? [[2080 + 512 * f.interfaceCount, 512 * (16 - f.interfaceCount)]] : []),
      ];
    // every member written but the padding: after onwire_ver, and after each link's 3 flags
    case 'res cfg.nodeStatusGet':
      return ok ? [...HDR_RES, [38, 2], ...Array.from({ length: 8 }, (_, i) => [40 + 520 * i + 3, 1])] : [...HDR_RES, [24, 8]];
    case 'evt cfg.shutdownCallback':
      return [...HDR_RES, [28, 4]];
    case 'res cfg.ringReenable':
    case 'res cfg.trackstart':
    case 'res cfg.trackstop':
    case 'res cfg.killNode':
    case 'res cfg.tryShutdown':
    case 'res cfg.replytoShutdown':
    case 'res cfg.reloadConfig':
    case 'res cfg.reopenLogFiles':
      return HDR_RES;

    // libcpg: requests on the stack, group names copied whole from the caller's struct cpg_name
    // (capture.c zeroes it), so only the pads are garbage
    case 'req cpg.join':
      return [...HDR_REQ, [20, 4], [156, 4], [164, 4]];
    case 'req cpg.leave':
      return [...HDR_REQ, [20, 4], [156, 4]];
    case 'req cpg.membershipGet':
      return [...HDR_REQ, [20, 4]];
    // the group is only copied for ONE_GROUP
    case 'req cpg.iterationInitialize':
      return [...HDR_REQ, ...(f.iterationType === 2 ? [[20, 4]] : [[16, 136]]), [156, 4]];
    case 'req cpg.zcbAlloc':
      return [...HDR_REQ, ...charsTail(24, 128, f.pathToFile)];
    case 'req cpg.zcbFree':
    case 'req cpg.zcbMcastJoined':
    case 'req cpg.localGet':
    case 'req cpg.finalize':
    case 'req cpg.iterationNext':
    case 'req cpg.iterationFinalize':
      return HDR_REQ;
    // the 24-byte header of MCAST / PARTIAL_MCAST: error never set
    case 'req cpg.mcastJoined':
      return [...HDR_RES, [16, 4], [28, 4], [36, 4]];
    case 'req cpg.partialMcast':
      return [...HDR_RES, [16, 4], [28, 4], [36, 4], [44, 4], [52, 4]];
    case 'res cpg.join':
    case 'res cpg.leave':
    case 'res cpg.iterationInitialize':
    case 'res cpg.iterationFinalize':
    case 'res cpg.finalize':
    case 'res cpg.partialMcast':
    case 'res cpg.zcbMcastJoined':
      return HDR_RES;
    case 'res cpg.localGet':
      return [...HDR_RES, [28, 4]];
    // exec/cpg.c: a stack struct; `reason` never set, nor the entries past member_count
    case 'res cpg.membershipGet': {
      const n = f.memberCount;
      return [
        ...HDR_RES,
        [28, 4],
        ...Array.from({ length: n }, (_, i) => [[32 + 24 * i + 4, 4], [32 + 24 * i + 12, 4], [32 + 24 * i + 16, 8]]).flat(),
        ...(n < 384 ? [[32 + 24 * n, 24 * (384 - n)]] : []),
      ];
    }
    // the group name is a copy of the joiner's request, its pad included; on error nothing is set
    case 'res cpg.iterationNext':
      return ok ? [...HDR_RES, [28, 4]] : [...HDR_RES, [24, 144]];
    // alloca()d, not memset: header, name and count pads, and each address entry's pads
    case 'evt cpg.confchgCallback': {
      const n = f.memberList.length + f.leftList.length + f.joinedList.length;
      const entries = Array.from({ length: n }, (_, i) => [[184 + 24 * i + 4, 4], [184 + 24 * i + 12, 4], [184 + 24 * i + 20, 4]]).flat();
      return [...HDR_RES, [28, 4], [164, 4], [172, 4], [180, 4], ...entries];
    }
    // header.error is never set in deliver events
    case 'evt cpg.deliverCallback':
      return [...HDR_RES, [16, 4], [28, 4], [164, 4], [172, 4], [180, 4]];
    case 'evt cpg.partialDeliverCallback':
      return [...HDR_RES, [16, 4], [28, 4], [164, 4], [172, 4], [180, 4], [188, 4], [196, 4]];
    // like the quorum notifications: 4 bytes after the list
    case 'evt cpg.totemConfchgCallback':
      return [...HDR_RES, [28, 4], [44 + 4 * f.memberList.length, 4]];

    case 'res quorum.error':
    case 'res cfg.error':
      return HDR_RES;
    default:
      if (v.service === 'cmap') return [];
      throw new Error(`no uninit rule for ${key}`);
  }
}
