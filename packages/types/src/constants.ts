/** cs_dispatch_flags_t (corotypes.h). */
export const CsDispatchFlags = {
  CS_DISPATCH_ONE: 1,
  CS_DISPATCH_ALL: 2,
  CS_DISPATCH_BLOCKING: 3,
  CS_DISPATCH_ONE_NONBLOCKING: 4,
} as const;
export type CsDispatchFlag = (typeof CsDispatchFlags)[keyof typeof CsDispatchFlags];
export const CS_DISPATCH_ONE = CsDispatchFlags.CS_DISPATCH_ONE;
export const CS_DISPATCH_ALL = CsDispatchFlags.CS_DISPATCH_ALL;
export const CS_DISPATCH_BLOCKING = CsDispatchFlags.CS_DISPATCH_BLOCKING;
export const CS_DISPATCH_ONE_NONBLOCKING = CsDispatchFlags.CS_DISPATCH_ONE_NONBLOCKING;

/** CS_TRACK_* (corotypes.h): flags of quorum_trackstart and votequorum_trackstart. */
export const CS_TRACK_CURRENT = 0x01;
export const CS_TRACK_CHANGES = 0x02;
export const CS_TRACK_CHANGES_ONLY = 0x04;

export const CS_MAX_NAME_LENGTH = 256;
/** Every corosync library call waits forever (libqb still checks liveness every 2 s). */
export const CS_IPC_TIMEOUT_MS = -1;
/** max_msg_size the corosync libraries ask for (lib/util.h IPC_REQUEST_SIZE = 8192 * 128). */
export const COROSYNC_IPC_MAX_MSG_SIZE = 1048576;

/** Service ids (corodefs.h) and their libqb IPC server names. */
export const CorosyncService = {
  CMAP: 0,
  CFG: 1,
  CPG: 2,
  QUORUM: 3,
  PLOAD: 4,
  VOTEQUORUM: 5,
  MON: 6,
  WD: 7,
} as const;
export const COROSYNC_IPC_NAMES = {
  cmap: 'cmap',
  cfg: 'cfg',
  cpg: 'cpg',
  quorum: 'quorum',
  votequorum: 'votequorum',
} as const;

// ---------------------------------------------------------------------------------------- cmap

/** cmap_value_types_t (cmap.h); the wire carries the same numbers. 0 means "no value". */
export const CmapValueType = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  INT64: 7,
  UINT64: 8,
  FLOAT: 9,
  DOUBLE: 10,
  STRING: 11,
  BINARY: 12,
} as const;
export type CmapValueTypeName = keyof typeof CmapValueType;
export type CmapValueTypeCode = (typeof CmapValueType)[CmapValueTypeName];
export const CMAP_VALUETYPE_INT8 = CmapValueType.INT8;
export const CMAP_VALUETYPE_UINT8 = CmapValueType.UINT8;
export const CMAP_VALUETYPE_INT16 = CmapValueType.INT16;
export const CMAP_VALUETYPE_UINT16 = CmapValueType.UINT16;
export const CMAP_VALUETYPE_INT32 = CmapValueType.INT32;
export const CMAP_VALUETYPE_UINT32 = CmapValueType.UINT32;
export const CMAP_VALUETYPE_INT64 = CmapValueType.INT64;
export const CMAP_VALUETYPE_UINT64 = CmapValueType.UINT64;
export const CMAP_VALUETYPE_FLOAT = CmapValueType.FLOAT;
export const CMAP_VALUETYPE_DOUBLE = CmapValueType.DOUBLE;
export const CMAP_VALUETYPE_STRING = CmapValueType.STRING;
export const CMAP_VALUETYPE_BINARY = CmapValueType.BINARY;

/** Byte width of each fixed-size cmap type; STRING and BINARY are variable. */
export const CMAP_VALUE_TYPE_SIZE: Readonly<Record<number, number>> = {
  1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 8, 8: 8, 9: 4, 10: 8,
};

// Built on first use, not at import.
let cmapTypeNames: ReadonlyMap<number, CmapValueTypeName> | undefined;
/** "UINT32" for 6, undefined for a number that is not a cmap type. */
export function cmapValueTypeName(type: number): CmapValueTypeName | undefined {
  cmapTypeNames ??= new Map((Object.entries(CmapValueType) as [CmapValueTypeName, number][]).map(([n, v]) => [v, n]));
  return cmapTypeNames.get(type);
}

/** cmap_map_t: which map a cmap connection works on (wire: SET_CURRENT_MAP). */
export const CMAP_MAP_DEFAULT = 0;
export const CMAP_MAP_ICMAP = 0;
export const CMAP_MAP_STATS = 1;

/** CMAP_TRACK_*: track_add flags and the event of a notification (PREFIX is never an event). */
export const CMAP_TRACK_DELETE = 1;
export const CMAP_TRACK_MODIFY = 2;
export const CMAP_TRACK_ADD = 4;
export const CMAP_TRACK_PREFIX = 8;

export const CMAP_KEYNAME_MAXLEN = 255;
export const CMAP_KEYNAME_MINLEN = 3;
/** icmap's ICMAP_MAX_VALUE_LEN: larger values are CS_ERR_INVALID_PARAM. */
export const CMAP_VALUE_MAXLEN = 16384;
/** Characters icmap accepts in a new key name (icmap_is_valid_name_char). */
export const CMAP_KEYNAME_REGEX = /^[A-Za-z0-9._/:-]+$/;

// -------------------------------------------------------------------------------------- quorum

/** quorum_initialize's quorum_type: is a quorum provider loaded. */
export const QUORUM_FREE = 0;
export const QUORUM_SET = 1;
/** quorum_model_t. */
export const QUORUM_MODEL_V0 = 0;
export const QUORUM_MODEL_V1 = 1;

// ---------------------------------------------------------------------------------- votequorum

export const VOTEQUORUM_INFO_TWONODE = 1;
export const VOTEQUORUM_INFO_QUORATE = 2;
export const VOTEQUORUM_INFO_WAIT_FOR_ALL = 4;
export const VOTEQUORUM_INFO_LAST_MAN_STANDING = 8;
export const VOTEQUORUM_INFO_AUTO_TIE_BREAKER = 16;
export const VOTEQUORUM_INFO_ALLOW_DOWNSCALE = 32;
export const VOTEQUORUM_INFO_QDEVICE_REGISTERED = 64;
export const VOTEQUORUM_INFO_QDEVICE_ALIVE = 128;
export const VOTEQUORUM_INFO_QDEVICE_CAST_VOTE = 256;
export const VOTEQUORUM_INFO_QDEVICE_MASTER_WINS = 512;

export const VOTEQUORUM_QDEVICE_NODEID = 0;
export const VOTEQUORUM_QDEVICE_MAX_NAME_LEN = 255;
export const VOTEQUORUM_QDEVICE_DEFAULT_TIMEOUT = 10000;
export const VOTEQUORUM_QDEVICE_DEFAULT_SYNC_TIMEOUT = 30000;

export const VOTEQUORUM_NODESTATE_MEMBER = 1;
export const VOTEQUORUM_NODESTATE_DEAD = 2;
export const VOTEQUORUM_NODESTATE_LEAVING = 3;

// ----------------------------------------------------------------------------------------- sam

/** sam_recovery_policy_t (sam.h). QUORUM and CMAP are modifiers of QUIT or RESTART. */
export const SAM_RECOVERY_POLICY_QUIT = 1;
export const SAM_RECOVERY_POLICY_RESTART = 2;
export const SAM_RECOVERY_POLICY_QUORUM = 0x08;
export const SAM_RECOVERY_POLICY_QUORUM_QUIT = 0x09;
export const SAM_RECOVERY_POLICY_QUORUM_RESTART = 0x0a;
export const SAM_RECOVERY_POLICY_CMAP = 0x10;
/** Legacy alias of SAM_RECOVERY_POLICY_CMAP. */
export const SAM_RECOVERY_POLICY_CONFDB = 0x10;

/** libsam's internal state machine (lib/sam.c sam_internal_status_t). */
export const SamState = {
  NOT_INITIALIZED: 1,
  INITIALIZED: 2,
  REGISTERED: 3,
  STARTED: 4,
  FINALIZED: 5,
} as const;
export type SamStateName = keyof typeof SamState;
