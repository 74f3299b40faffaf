/**
 * The single source of truth of the codec: every frame and message it knows, with its wire id,
 * size rule and field layout (corosync 3.1.7 / libqb 2.0.6, x86_64 LP64, little-endian).
 *
 * scripts/build-wasm.ts turns this into the AssemblyScript tables and decoders the WASM runs
 * on; the TypeScript field types of decode()/encode()/encoders are derived from it at the type
 * level, and the CLI shows these field names. Change a layout here and nowhere else.
 *
 * Field types:
 * - `u8` `u16` `u32` `i32`: number. `u64` `i64`: bigint.
 * - `name`: mar_name_t (264 bytes: u16 length at +0, 256 chars at +8) -> string, the first
 *   `length` chars cut at the first NUL. `length` > 256 is a DecodeError.
 * - `chars`: char[len], NUL-terminated -> string up to the first NUL (all `len` bytes if there is
 *   none). Encoding needs room for the NUL: at most len-1 bytes.
 * - `ringId`: mar_quorum_ring_id_t / mar_votequorum_ring_id_t (16 bytes: nodeid u32 at +0, seq u64
 *   at +8) -> {nodeid: number, seq: bigint}.
 * - Variable parts, `count` names the field holding their element count:
 *   `bytes` -> Uint8Array, `u32list` -> number[], `nodeList` ({nodeid u32, state u32}) ->
 *   {nodeid, state}[], `addrList` (16-byte address entries) -> Uint8Array[] of 16 bytes each.
 *
 * - `cpgName`: mar_cpg_name_t (136 bytes: u32 length at +0, 128 bytes at +8) -> Uint8Array of
 *   exactly `length` bytes (any bytes, NULs too: not a C string). `length` > 128 is a
 *   DecodeError, except for a field marked `lenient`, which then reads as empty (a name the
 *   daemon ignores). Encoding takes a Uint8Array or a string (its UTF-8 bytes).
 * - `csName`: cs_name_t (258 bytes: u16 length at +0, 256 bytes at +2, the length counting the
 *   NUL as libcfg sends it) -> string up to the first NUL. Encoding writes length = bytes + 1.
 * - Fixed arrays, `capacity` elements at `offset`, `count` (if any) names the field holding how
 *   many are in use (more than `capacity` is `countOverrun`); the rest are never read:
 *   `cpgAddrArray` (24-byte mar_cpg_address_t) -> {nodeid, pid, reason}[], `charsArray`
 *   (char[capacity][len]) -> string[], `linkStatusArray` (520-byte
 *   corosync_knet_link_status_v1, no count: all `capacity`) -> KnetLinkStatus[].
 * - `cpgAddrList`: a variable part of 24-byte mar_cpg_address_t -> {nodeid, pid, reason}[].
 * - `errorSize` (message): a response carrying an error may be exactly that long instead of
 *   `size`; its fields past it are then empty (cfg NODESTATUSGET answers an unknown node with
 *   the 32-byte version struct only).
 *
 * `noReply` (request): the daemon never answers it, not even with an error (cpg MCAST): a reader
 * pairing a connection's requests with its responses in order must skip it.
 *
 * `errorUnset` (event): corosync 3.1.7 never sets the header's error (cpg's two deliver events
 * carry uninitialised stack bytes there, such as 9) and libcpg never reads it: not a result.
 *
 * Header: `dir: 'req'` frames start with the 16-byte request header, `res`/`evt` with the
 * 24-byte response header; the setup messages say which in `header`.
 *
 * Size rules. `size` is the fixed part (sizeof the C struct). A message without variable parts is
 * exactly `size` bytes. Variable parts are packed back to back starting at the first variable
 * field's `offset` (which may lie before `size`: the quorum notifications put their list 4 bytes
 * before the struct's tail padding), and the frame is `size` + the variable bytes.
 * `tail: 'capacity'` (cmap GET's response) allows zero fill after the variable part: the daemon
 * sizes that reply by the capacity the client asked for. A variable field marked `optional` is
 * absent (empty) when the frame is only the fixed part; a response whose header error is not
 * CS_OK is read the same way, because corosync sends error replies with uninitialised counts.
 */

/**
 * The services, in the order of their codes in the WASM tables and the fast path
 * (`SERVICE_CODES`): `qb` (code 0) is libqb's own handshake. `corosyncId` is the daemon's
 * service number (corodefs.h `corosync_service_types`), as in `runtime.services.<name>.service_id`
 * and `stats.ipcs.service<id>.*`. Adding a service starts with a line here; the service names,
 * codes and table sizes everywhere else are derived from this list.
 */
export const services = [
  { name: 'qb', corosyncId: null },
  { name: 'cmap', corosyncId: 0 },
  { name: 'quorum', corosyncId: 3 },
  { name: 'votequorum', corosyncId: 5 },
  { name: 'cfg', corosyncId: 1 },
  { name: 'cpg', corosyncId: 2 },
] as const;
type ServiceSpecName = (typeof services)[number]['name'];

export const REQUEST_HEADER = {
  size: 16,
  fields: [
    { name: 'id', type: 'i32', offset: 0 },
    { name: 'size', type: 'i32', offset: 8 },
  ],
} as const;

export const RESPONSE_HEADER = {
  size: 24,
  fields: [
    { name: 'id', type: 'i32', offset: 0 },
    { name: 'size', type: 'i32', offset: 8 },
    { name: 'error', type: 'i32', offset: 16 },
  ],
} as const;

export const messages = [
  // ------------------------------------------------------------------------ libqb setup (id -1)
  {
    name: 'qb.connectionRequest', service: 'qb', dir: 'setup', header: 'request', id: -1, size: 24,
    fields: [{ name: 'maxMsgSize', type: 'u32', offset: 16 }],
  },
  {
    name: 'qb.connectionResponse', service: 'qb', dir: 'setup', header: 'response', id: -1, size: 12328,
    fields: [
      { name: 'connectionType', type: 'i32', offset: 24 },
      { name: 'maxMsgSize', type: 'u32', offset: 28 },
      { name: 'connection', type: 'u64', offset: 32 },
      { name: 'request', type: 'chars', offset: 40, len: 4096 },
      { name: 'response', type: 'chars', offset: 4136, len: 4096 },
      { name: 'event', type: 'chars', offset: 8232, len: 4096 },
    ],
  },

  // ---------------------------------------------------------------------------- cmap requests
  {
    name: 'cmap.set', service: 'cmap', dir: 'req', id: 0, size: 296,
    fields: [
      { name: 'keyName', type: 'name', offset: 16 },
      { name: 'valueLen', type: 'u64', offset: 280 },
      { name: 'type', type: 'u8', offset: 288 },
      { name: 'value', type: 'bytes', offset: 296, count: 'valueLen' },
    ],
  },
  {
    name: 'cmap.delete', service: 'cmap', dir: 'req', id: 1, size: 280,
    fields: [{ name: 'keyName', type: 'name', offset: 16 }],
  },
  {
    name: 'cmap.get', service: 'cmap', dir: 'req', id: 2, size: 288,
    fields: [
      { name: 'keyName', type: 'name', offset: 16 },
      { name: 'valueLen', type: 'u64', offset: 280 },
    ],
  },
  {
    name: 'cmap.adjustInt', service: 'cmap', dir: 'req', id: 3, size: 288,
    fields: [
      { name: 'keyName', type: 'name', offset: 16 },
      { name: 'step', type: 'i32', offset: 280 },
    ],
  },
  {
    name: 'cmap.iterInit', service: 'cmap', dir: 'req', id: 4, size: 280,
    fields: [{ name: 'prefix', type: 'name', offset: 16 }],
  },
  {
    name: 'cmap.iterNext', service: 'cmap', dir: 'req', id: 5, size: 24,
    fields: [{ name: 'iterHandle', type: 'u64', offset: 16 }],
  },
  {
    name: 'cmap.iterFinalize', service: 'cmap', dir: 'req', id: 6, size: 24,
    fields: [{ name: 'iterHandle', type: 'u64', offset: 16 }],
  },
  {
    name: 'cmap.trackAdd', service: 'cmap', dir: 'req', id: 7, size: 296,
    fields: [
      { name: 'keyName', type: 'name', offset: 16 },
      { name: 'trackType', type: 'i32', offset: 280 },
      { name: 'trackInstHandle', type: 'u64', offset: 288 },
    ],
  },
  {
    name: 'cmap.trackDelete', service: 'cmap', dir: 'req', id: 8, size: 24,
    fields: [{ name: 'trackHandle', type: 'u64', offset: 16 }],
  },
  {
    name: 'cmap.setCurrentMap', service: 'cmap', dir: 'req', id: 9, size: 24,
    fields: [{ name: 'map', type: 'i32', offset: 16 }],
  },

  // --------------------------------------------------------------------------- cmap responses
  { name: 'cmap.set', service: 'cmap', dir: 'res', id: 0, size: 24, fields: [] },
  { name: 'cmap.delete', service: 'cmap', dir: 'res', id: 1, size: 24, fields: [] },
  {
    name: 'cmap.get', service: 'cmap', dir: 'res', id: 2, size: 40, tail: 'capacity',
    fields: [
      { name: 'valueLen', type: 'u64', offset: 24 },
      { name: 'type', type: 'u8', offset: 32 },
      { name: 'value', type: 'bytes', offset: 40, count: 'valueLen', optional: true },
    ],
  },
  { name: 'cmap.adjustInt', service: 'cmap', dir: 'res', id: 3, size: 24, fields: [] },
  {
    name: 'cmap.iterInit', service: 'cmap', dir: 'res', id: 4, size: 32,
    fields: [{ name: 'iterHandle', type: 'u64', offset: 24 }],
  },
  {
    name: 'cmap.iterNext', service: 'cmap', dir: 'res', id: 5, size: 304,
    fields: [
      { name: 'keyName', type: 'name', offset: 24 },
      { name: 'valueLen', type: 'u64', offset: 288 },
      { name: 'type', type: 'u8', offset: 296 },
    ],
  },
  { name: 'cmap.iterFinalize', service: 'cmap', dir: 'res', id: 6, size: 24, fields: [] },
  {
    name: 'cmap.trackAdd', service: 'cmap', dir: 'res', id: 7, size: 32,
    fields: [{ name: 'trackHandle', type: 'u64', offset: 24 }],
  },
  {
    name: 'cmap.trackDelete', service: 'cmap', dir: 'res', id: 8, size: 32,
    fields: [{ name: 'trackInstHandle', type: 'u64', offset: 24 }],
  },
  { name: 'cmap.setCurrentMap', service: 'cmap', dir: 'res', id: 10, size: 24, fields: [] },

  // ------------------------------------------------------------------------------ cmap events
  {
    name: 'cmap.notify', service: 'cmap', dir: 'evt', id: 9, size: 336,
    fields: [
      { name: 'trackInstHandle', type: 'u64', offset: 24 },
      { name: 'keyName', type: 'name', offset: 32 },
      { name: 'event', type: 'i32', offset: 296 },
      { name: 'newValueType', type: 'u8', offset: 304 },
      { name: 'oldValueType', type: 'u8', offset: 312 },
      { name: 'newValueLen', type: 'u64', offset: 320 },
      { name: 'oldValueLen', type: 'u64', offset: 328 },
      { name: 'newValue', type: 'bytes', offset: 336, count: 'newValueLen' },
      { name: 'oldValue', type: 'bytes', offset: 336, count: 'oldValueLen' },
    ],
  },

  // -------------------------------------------------------------------------- quorum requests
  { name: 'quorum.getquorate', service: 'quorum', dir: 'req', id: 0, size: 16, fields: [] },
  {
    name: 'quorum.trackstart', service: 'quorum', dir: 'req', id: 1, size: 24,
    fields: [{ name: 'trackFlags', type: 'u32', offset: 16 }],
  },
  { name: 'quorum.trackstop', service: 'quorum', dir: 'req', id: 2, size: 16, fields: [] },
  { name: 'quorum.gettype', service: 'quorum', dir: 'req', id: 3, size: 16, fields: [] },
  {
    name: 'quorum.modelGettype', service: 'quorum', dir: 'req', id: 4, size: 24,
    fields: [{ name: 'model', type: 'u32', offset: 16 }],
  },

  // ------------------------------------------------------------------------- quorum responses
  {
    name: 'quorum.getquorate', service: 'quorum', dir: 'res', id: 0, size: 32,
    fields: [{ name: 'quorate', type: 'u32', offset: 24 }],
  },
  { name: 'quorum.trackstart', service: 'quorum', dir: 'res', id: 1, size: 24, fields: [] },
  { name: 'quorum.trackstop', service: 'quorum', dir: 'res', id: 2, size: 24, fields: [] },
  {
    name: 'quorum.gettype', service: 'quorum', dir: 'res', id: 4, size: 32,
    fields: [{ name: 'quorumType', type: 'u32', offset: 24 }],
  },
  {
    name: 'quorum.modelGettype', service: 'quorum', dir: 'res', id: 5, size: 32,
    fields: [{ name: 'quorumType', type: 'u32', offset: 24 }],
  },

  // ---------------------------------------------------------------------------- quorum events
  {
    // The list starts 4 bytes before sizeof(struct): 4 zero bytes follow it on the wire.
    name: 'quorum.notification', service: 'quorum', dir: 'evt', id: 3, size: 48,
    fields: [
      { name: 'quorate', type: 'i32', offset: 24 },
      { name: 'ringSeq', type: 'u64', offset: 32 },
      { name: 'viewListEntries', type: 'u32', offset: 40 },
      { name: 'viewList', type: 'u32list', offset: 44, count: 'viewListEntries' },
    ],
  },
  {
    name: 'quorum.v1QuorumNotification', service: 'quorum', dir: 'evt', id: 6, size: 56,
    fields: [
      { name: 'quorate', type: 'i32', offset: 24 },
      { name: 'ringId', type: 'ringId', offset: 32 },
      { name: 'viewListEntries', type: 'u32', offset: 48 },
      { name: 'viewList', type: 'u32list', offset: 52, count: 'viewListEntries' },
    ],
  },
  {
    name: 'quorum.v1NodelistNotification', service: 'quorum', dir: 'evt', id: 7, size: 64,
    fields: [
      { name: 'ringId', type: 'ringId', offset: 24 },
      { name: 'memberListEntries', type: 'u32', offset: 40 },
      { name: 'joinedListEntries', type: 'u32', offset: 48 },
      { name: 'leftListEntries', type: 'u32', offset: 56 },
      { name: 'memberList', type: 'u32list', offset: 60, count: 'memberListEntries' },
      { name: 'joinedList', type: 'u32list', offset: 60, count: 'joinedListEntries' },
      { name: 'leftList', type: 'u32list', offset: 60, count: 'leftListEntries' },
    ],
  },

  // ---------------------------------------------------------------------- votequorum requests
  {
    name: 'votequorum.getinfo', service: 'votequorum', dir: 'req', id: 0, size: 24,
    fields: [{ name: 'nodeid', type: 'i32', offset: 16 }],
  },
  {
    name: 'votequorum.setexpected', service: 'votequorum', dir: 'req', id: 1, size: 24,
    fields: [{ name: 'expectedVotes', type: 'u32', offset: 16 }],
  },
  {
    name: 'votequorum.setvotes', service: 'votequorum', dir: 'req', id: 2, size: 24,
    fields: [
      { name: 'votes', type: 'u32', offset: 16 },
      { name: 'nodeid', type: 'i32', offset: 20 },
    ],
  },
  {
    name: 'votequorum.trackstart', service: 'votequorum', dir: 'req', id: 3, size: 32,
    fields: [
      { name: 'context', type: 'u64', offset: 16 },
      { name: 'trackFlags', type: 'u32', offset: 24 },
    ],
  },
  { name: 'votequorum.trackstop', service: 'votequorum', dir: 'req', id: 4, size: 16, fields: [] },
  {
    name: 'votequorum.qdeviceRegister', service: 'votequorum', dir: 'req', id: 5, size: 272,
    fields: [{ name: 'name', type: 'chars', offset: 16, len: 255 }],
  },
  {
    name: 'votequorum.qdeviceUnregister', service: 'votequorum', dir: 'req', id: 6, size: 272,
    fields: [{ name: 'name', type: 'chars', offset: 16, len: 255 }],
  },
  {
    name: 'votequorum.qdeviceUpdate', service: 'votequorum', dir: 'req', id: 7, size: 528,
    fields: [
      { name: 'oldname', type: 'chars', offset: 16, len: 255 },
      { name: 'newname', type: 'chars', offset: 271, len: 255 },
    ],
  },
  {
    name: 'votequorum.qdevicePoll', service: 'votequorum', dir: 'req', id: 8, size: 296,
    fields: [
      { name: 'name', type: 'chars', offset: 16, len: 255 },
      { name: 'castVote', type: 'i32', offset: 272 },
      { name: 'ringId', type: 'ringId', offset: 280 },
    ],
  },
  {
    name: 'votequorum.qdeviceMasterWins', service: 'votequorum', dir: 'req', id: 9, size: 280,
    fields: [
      { name: 'name', type: 'chars', offset: 16, len: 255 },
      { name: 'allow', type: 'u32', offset: 272 },
    ],
  },

  // --------------------------------------------------------------------- votequorum responses
  { name: 'votequorum.status', service: 'votequorum', dir: 'res', id: 0, size: 24, fields: [] },
  {
    name: 'votequorum.getinfo', service: 'votequorum', dir: 'res', id: 1, size: 320,
    fields: [
      { name: 'nodeid', type: 'u32', offset: 24 },
      { name: 'state', type: 'u32', offset: 28 },
      { name: 'votes', type: 'u32', offset: 32 },
      { name: 'expectedVotes', type: 'u32', offset: 36 },
      { name: 'highestExpected', type: 'u32', offset: 40 },
      { name: 'totalVotes', type: 'u32', offset: 44 },
      { name: 'quorum', type: 'u32', offset: 48 },
      { name: 'flags', type: 'u32', offset: 52 },
      { name: 'qdeviceVotes', type: 'u32', offset: 56 },
      { name: 'qdeviceName', type: 'chars', offset: 60, len: 255 },
    ],
  },

  // ------------------------------------------------------------------------ votequorum events
  {
    name: 'votequorum.quorumNotification', service: 'votequorum', dir: 'evt', id: 3, size: 48,
    fields: [
      { name: 'quorate', type: 'u32', offset: 24 },
      { name: 'context', type: 'u64', offset: 32 },
      { name: 'nodeListEntries', type: 'u32', offset: 40 },
      { name: 'nodeList', type: 'nodeList', offset: 48, count: 'nodeListEntries' },
    ],
  },
  {
    name: 'votequorum.expectedvotesNotification', service: 'votequorum', dir: 'evt', id: 4, size: 40,
    fields: [
      { name: 'context', type: 'u64', offset: 24 },
      { name: 'expectedVotes', type: 'u32', offset: 32 },
    ],
  },
  {
    name: 'votequorum.nodelistNotification', service: 'votequorum', dir: 'evt', id: 5, size: 56,
    fields: [
      { name: 'context', type: 'u64', offset: 24 },
      { name: 'ringId', type: 'ringId', offset: 32 },
      { name: 'nodeListEntries', type: 'u32', offset: 48 },
      { name: 'nodeList', type: 'u32list', offset: 56, count: 'nodeListEntries' },
    ],
  },

  // ------------------------------------------------------------------------------ cfg requests
  { name: 'cfg.ringStatusGet', service: 'cfg', dir: 'req', id: 0, size: 16, fields: [] },
  { name: 'cfg.ringReenable', service: 'cfg', dir: 'req', id: 1, size: 16, fields: [] },
  {
    name: 'cfg.killNode', service: 'cfg', dir: 'req', id: 2, size: 288,
    fields: [
      { name: 'nodeid', type: 'u32', offset: 16 },
      { name: 'reason', type: 'csName', offset: 24 },
    ],
  },
  {
    name: 'cfg.tryShutdown', service: 'cfg', dir: 'req', id: 3, size: 24,
    fields: [{ name: 'flags', type: 'u32', offset: 16 }],
  },
  {
    name: 'cfg.replytoShutdown', service: 'cfg', dir: 'req', id: 4, size: 24,
    fields: [{ name: 'response', type: 'u32', offset: 16 }],
  },
  {
    name: 'cfg.getNodeAddrs', service: 'cfg', dir: 'req', id: 5, size: 24,
    fields: [{ name: 'nodeid', type: 'u32', offset: 16 }],
  },
  { name: 'cfg.localGet', service: 'cfg', dir: 'req', id: 6, size: 16, fields: [] },
  { name: 'cfg.reloadConfig', service: 'cfg', dir: 'req', id: 7, size: 16, fields: [] },
  { name: 'cfg.reopenLogFiles', service: 'cfg', dir: 'req', id: 8, size: 16, fields: [] },
  {
    name: 'cfg.nodeStatusGet', service: 'cfg', dir: 'req', id: 9, size: 32,
    fields: [
      { name: 'nodeid', type: 'u32', offset: 16 },
      { name: 'version', type: 'u32', offset: 24 },
    ],
  },
  {
    // A packed struct: the flags are one byte, the rest up to 24 is the sender's garbage.
    name: 'cfg.trackstart', service: 'cfg', dir: 'req', id: 10, size: 24,
    fields: [{ name: 'trackFlags', type: 'u8', offset: 16 }],
  },
  { name: 'cfg.trackstop', service: 'cfg', dir: 'req', id: 11, size: 16, fields: [] },

  // ----------------------------------------------------------------------------- cfg responses
  {
    // Slots past interfaceCount are uninitialised on the wire and are not decoded.
    name: 'cfg.ringStatusGet', service: 'cfg', dir: 'res', id: 0, size: 10272,
    fields: [
      { name: 'interfaceCount', type: 'u32', offset: 24 },
      { name: 'interfaceName', type: 'charsArray', offset: 32, len: 128, capacity: 16, count: 'interfaceCount' },
      { name: 'interfaceStatus', type: 'charsArray', offset: 2080, len: 512, capacity: 16, count: 'interfaceCount' },
    ],
  },
  { name: 'cfg.ringReenable', service: 'cfg', dir: 'res', id: 1, size: 24, fields: [] },
  { name: 'cfg.trackstart', service: 'cfg', dir: 'res', id: 2, size: 24, fields: [] },
  { name: 'cfg.trackstop', service: 'cfg', dir: 'res', id: 3, size: 24, fields: [] },
  { name: 'cfg.killNode', service: 'cfg', dir: 'res', id: 8, size: 24, fields: [] },
  { name: 'cfg.tryShutdown', service: 'cfg', dir: 'res', id: 9, size: 24, fields: [] },
  {
    name: 'cfg.getNodeAddrs', service: 'cfg', dir: 'res', id: 11, size: 32,
    fields: [
      { name: 'family', type: 'u32', offset: 24 },
      { name: 'numAddrs', type: 'u32', offset: 28 },
      { name: 'addrs', type: 'addrList', offset: 32, count: 'numAddrs' },
    ],
  },
  {
    name: 'cfg.localGet', service: 'cfg', dir: 'res', id: 12, size: 32,
    fields: [{ name: 'localNodeid', type: 'u32', offset: 24 }],
  },
  { name: 'cfg.replytoShutdown', service: 'cfg', dir: 'res', id: 13, size: 24, fields: [] },
  { name: 'cfg.reloadConfig', service: 'cfg', dir: 'res', id: 14, size: 24, fields: [] },
  { name: 'cfg.reopenLogFiles', service: 'cfg', dir: 'res', id: 15, size: 24, fields: [] },
  {
    // struct corosync_cfg_node_status_v1 at 24. An error reply is only the 32-byte
    // res_lib_cfg_nodestatusget_version (`errorSize`): every field after `version` is then empty.
    name: 'cfg.nodeStatusGet', service: 'cfg', dir: 'res', id: 16, size: 4200, errorSize: 32,
    fields: [
      { name: 'version', type: 'u32', offset: 24 },
      { name: 'nodeid', type: 'u32', offset: 28 },
      { name: 'reachable', type: 'u8', offset: 32 },
      { name: 'remote', type: 'u8', offset: 33 },
      { name: 'external', type: 'u8', offset: 34 },
      { name: 'onwireMin', type: 'u8', offset: 35 },
      { name: 'onwireMax', type: 'u8', offset: 36 },
      { name: 'onwireVer', type: 'u8', offset: 37 },
      { name: 'linkStatus', type: 'linkStatusArray', offset: 40, capacity: 8 },
    ],
  },

  // -------------------------------------------------------------------------------- cfg events
  {
    name: 'cfg.shutdownCallback', service: 'cfg', dir: 'evt', id: 10, size: 32,
    fields: [{ name: 'flags', type: 'u32', offset: 24 }],
  },

  // ------------------------------------------------------------------------------ cpg requests
  {
    name: 'cpg.join', service: 'cpg', dir: 'req', id: 0, size: 168,
    fields: [
      { name: 'groupName', type: 'cpgName', offset: 16 },
      { name: 'pid', type: 'u32', offset: 152 },
      { name: 'flags', type: 'u32', offset: 160 },
    ],
  },
  {
    name: 'cpg.leave', service: 'cpg', dir: 'req', id: 1, size: 160,
    fields: [
      { name: 'groupName', type: 'cpgName', offset: 16 },
      { name: 'pid', type: 'u32', offset: 152 },
    ],
  },
  {
    // MCAST carries a 24-byte response-style header (its error field is garbage) and gets no reply.
    name: 'cpg.mcastJoined', service: 'cpg', dir: 'req', header: 'response', id: 2, size: 40, noReply: true,
    fields: [
      { name: 'guarantee', type: 'u32', offset: 24 },
      { name: 'msglen', type: 'u32', offset: 32 },
      { name: 'message', type: 'bytes', offset: 40, count: 'msglen' },
    ],
  },
  {
    name: 'cpg.membershipGet', service: 'cpg', dir: 'req', id: 3, size: 152,
    fields: [{ name: 'groupName', type: 'cpgName', offset: 16 }],
  },
  { name: 'cpg.localGet', service: 'cpg', dir: 'req', id: 4, size: 16, fields: [] },
  {
    // libcpg leaves the group unset unless the type is ONE_GROUP (corosync-cpgtool -n was seen
    // sending a length over 128 there): `lenient` reads an overlong name as empty.
    name: 'cpg.iterationInitialize', service: 'cpg', dir: 'req', id: 5, size: 160,
    fields: [
      { name: 'groupName', type: 'cpgName', offset: 16, lenient: true },
      { name: 'iterationType', type: 'u32', offset: 152 },
    ],
  },
  {
    name: 'cpg.iterationNext', service: 'cpg', dir: 'req', id: 6, size: 24,
    fields: [{ name: 'iterationHandle', type: 'u64', offset: 16 }],
  },
  {
    name: 'cpg.iterationFinalize', service: 'cpg', dir: 'req', id: 7, size: 24,
    fields: [{ name: 'iterationHandle', type: 'u64', offset: 16 }],
  },
  { name: 'cpg.finalize', service: 'cpg', dir: 'req', id: 8, size: 16, fields: [] },
  {
    name: 'cpg.zcbAlloc', service: 'cpg', dir: 'req', id: 9, size: 152,
    fields: [
      { name: 'mapSize', type: 'u64', offset: 16 },
      { name: 'pathToFile', type: 'chars', offset: 24, len: 128 },
    ],
  },
  {
    name: 'cpg.zcbFree', service: 'cpg', dir: 'req', id: 10, size: 32,
    fields: [
      { name: 'mapSize', type: 'u64', offset: 16 },
      { name: 'serverAddress', type: 'u64', offset: 24 },
    ],
  },
  {
    name: 'cpg.zcbMcastJoined', service: 'cpg', dir: 'req', id: 11, size: 24,
    fields: [{ name: 'serverAddress', type: 'u64', offset: 16 }],
  },
  {
    // libcpg's fragments of a message larger than 1047552 bytes; same 24-byte header as MCAST.
    name: 'cpg.partialMcast', service: 'cpg', dir: 'req', header: 'response', id: 12, size: 56,
    fields: [
      { name: 'guarantee', type: 'u32', offset: 24 },
      { name: 'msglen', type: 'u32', offset: 32 },
      { name: 'fraglen', type: 'u32', offset: 40 },
      { name: 'type', type: 'u32', offset: 48 },
      { name: 'fragment', type: 'bytes', offset: 56, count: 'fraglen' },
    ],
  },

  // ----------------------------------------------------------------------------- cpg responses
  // The ZC_ALLOC and ZC_FREE replies are bare headers with id 0: they decode as cpg.join.
  { name: 'cpg.join', service: 'cpg', dir: 'res', id: 0, size: 24, fields: [] },
  { name: 'cpg.leave', service: 'cpg', dir: 'res', id: 1, size: 24, fields: [] },
  { name: 'cpg.zcbMcastJoined', service: 'cpg', dir: 'res', id: 2, size: 24, fields: [] },
  {
    // Always the whole 384-entry array; entries past memberCount are not decoded.
    name: 'cpg.membershipGet', service: 'cpg', dir: 'res', id: 3, size: 9248,
    fields: [
      { name: 'memberCount', type: 'u32', offset: 24 },
      { name: 'memberList', type: 'cpgAddrArray', offset: 32, capacity: 384, count: 'memberCount' },
    ],
  },
  {
    name: 'cpg.localGet', service: 'cpg', dir: 'res', id: 7, size: 32,
    fields: [{ name: 'localNodeid', type: 'u32', offset: 24 }],
  },
  {
    name: 'cpg.iterationInitialize', service: 'cpg', dir: 'res', id: 9, size: 32,
    fields: [{ name: 'iterationHandle', type: 'u64', offset: 24 }],
  },
  {
    // mar_cpg_iteration_description_t at 24; the same size (with a stale body) on error.
    name: 'cpg.iterationNext', service: 'cpg', dir: 'res', id: 10, size: 168,
    fields: [
      { name: 'groupName', type: 'cpgName', offset: 24 },
      { name: 'nodeid', type: 'u32', offset: 160 },
      { name: 'pid', type: 'u32', offset: 164 },
    ],
  },
  { name: 'cpg.iterationFinalize', service: 'cpg', dir: 'res', id: 11, size: 24, fields: [] },
  { name: 'cpg.finalize', service: 'cpg', dir: 'res', id: 12, size: 24, fields: [] },
  { name: 'cpg.partialMcast', service: 'cpg', dir: 'res', id: 18, size: 24, fields: [] },

  // -------------------------------------------------------------------------------- cpg events
  {
    // The counts are member, joined, left; the lists on the wire are member, LEFT, joined.
    name: 'cpg.confchgCallback', service: 'cpg', dir: 'evt', id: 4, size: 184,
    fields: [
      { name: 'groupName', type: 'cpgName', offset: 24 },
      { name: 'memberListEntries', type: 'u32', offset: 160 },
      { name: 'joinedListEntries', type: 'u32', offset: 168 },
      { name: 'leftListEntries', type: 'u32', offset: 176 },
      { name: 'memberList', type: 'cpgAddrList', offset: 184, count: 'memberListEntries' },
      { name: 'leftList', type: 'cpgAddrList', offset: 184, count: 'leftListEntries' },
      { name: 'joinedList', type: 'cpgAddrList', offset: 184, count: 'joinedListEntries' },
    ],
  },
  {
    name: 'cpg.deliverCallback', service: 'cpg', dir: 'evt', id: 5, size: 184, errorUnset: true,
    fields: [
      { name: 'groupName', type: 'cpgName', offset: 24 },
      { name: 'msglen', type: 'u32', offset: 160 },
      { name: 'nodeid', type: 'u32', offset: 168 },
      { name: 'pid', type: 'u32', offset: 176 },
      { name: 'message', type: 'bytes', offset: 184, count: 'msglen' },
    ],
  },
  {
    // Like the quorum notifications: the list starts 4 bytes before sizeof, 4 bytes follow it.
    name: 'cpg.totemConfchgCallback', service: 'cpg', dir: 'evt', id: 13, size: 48,
    fields: [
      { name: 'ringId', type: 'ringId', offset: 24 },
      { name: 'memberListEntries', type: 'u32', offset: 40 },
      { name: 'memberList', type: 'u32list', offset: 44, count: 'memberListEntries' },
    ],
  },
  {
    name: 'cpg.partialDeliverCallback', service: 'cpg', dir: 'evt', id: 17, size: 200, errorUnset: true,
    fields: [
      { name: 'groupName', type: 'cpgName', offset: 24 },
      { name: 'msglen', type: 'u32', offset: 160 },
      { name: 'fraglen', type: 'u32', offset: 168 },
      { name: 'nodeid', type: 'u32', offset: 176 },
      { name: 'pid', type: 'u32', offset: 184 },
      { name: 'type', type: 'u32', offset: 192 },
      { name: 'fragment', type: 'bytes', offset: 200, count: 'fraglen' },
    ],
  },

  // ----------------------------------------------------- bare error replies (any unknown id)
  // What corosync answers to an unknown request id (or when sending is not allowed): a bare
  // response header, id 0, error CS_ERR_INVALID_PARAM / CS_ERR_TRY_AGAIN. Matched by decode()
  // for a 24-byte response whose id is unknown, or whose id needs a body but carries an error.
  { name: 'cmap.error', service: 'cmap', dir: 'res', id: null, size: 24, fields: [] },
  { name: 'quorum.error', service: 'quorum', dir: 'res', id: null, size: 24, fields: [] },
  { name: 'votequorum.error', service: 'votequorum', dir: 'res', id: null, size: 24, fields: [] },
  { name: 'cfg.error', service: 'cfg', dir: 'res', id: null, size: 24, fields: [] },
  { name: 'cpg.error', service: 'cpg', dir: 'res', id: null, size: 24, fields: [] },
] as const satisfies readonly { readonly service: ServiceSpecName; readonly [field: string]: unknown }[];

export const catalog = {
  services,
  requestHeader: REQUEST_HEADER,
  responseHeader: RESPONSE_HEADER,
  messages,
} as const;

export type Catalog = typeof catalog;
export type MessageSpec = (typeof messages)[number];
export type FieldSpec = MessageSpec['fields'][number];
export type FieldType = FieldSpec['type'];
