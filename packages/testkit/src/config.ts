import { ConfigError } from './errors.js';
import { CmapValueType as T } from '@corosync-ts/types';

/** One cmap key produced by the configuration, with the cmap type corosync gives it. */
export interface ConfigEntry {
  key: string;
  type: number;
  value: number | bigint | string;
}

export interface ParseOptions {
  /** Used in error messages, like corosync's "parser error: <file>:<line>: ...". */
  filename?: string;
  /** Maps a uidgid user / group name to its id (corosync calls getpwnam / getgrnam). */
  resolveUser?: (name: string) => number | undefined;
  resolveGroup?: (name: string) => number | undefined;
}

type State =
  | 'normal' | 'totem' | 'interface' | 'member' | 'system' | 'quorum' | 'qdevice' | 'nodelist' | 'node'
  | 'logger_subsys' | 'logging_daemon' | 'uidgid' | 'resources' | 'resources_system' | 'resources_process';

const MAX_KEY = 255;

const TOTEM_U32 = new Set([
  'version', 'nodeid', 'threads', 'token', 'token_coefficient', 'token_retransmit', 'token_warning', 'hold',
  'token_retransmits_before_loss_const', 'join', 'send_join', 'consensus', 'merge', 'downcheck', 'fail_recv_const',
  'seqno_unchanged_const', 'rrp_token_expired_timeout', 'rrp_problem_count_timeout', 'rrp_problem_count_threshold',
  'rrp_problem_count_mcast_threshold', 'rrp_autorecovery_check_timeout', 'heartbeat_failures_allowed',
  'max_network_delay', 'window_size', 'max_messages', 'miss_count_const', 'knet_pmtud_interval', 'knet_mtu',
  'knet_compression_threshold', 'netmtu',
].map((k) => `totem.${k}`));
const QUORUM_U32 = new Set(['quorum.expected_votes', 'quorum.votes', 'quorum.last_man_standing_window', 'quorum.leaving_timeout']);
const QUORUM_U8 = new Set([
  'quorum.two_node', 'quorum.expected_votes_tracking', 'quorum.allow_downscale', 'quorum.wait_for_all',
  'quorum.auto_tie_breaker', 'quorum.last_man_standing',
]);
const QDEVICE_U32 = new Set(['quorum.device.timeout', 'quorum.device.sync_timeout', 'quorum.device.votes']);
/** Keys of a totem.interface section: they are collected and stored under totem.interface.<linknumber>. */
const INTERFACE_TYPES: Record<string, number> = {
  bindnetaddr: T.STRING, mcastaddr: T.STRING, broadcast: T.STRING, mcastport: T.UINT16, ttl: T.UINT8,
  knet_link_priority: T.UINT8, knet_ping_interval: T.UINT32, knet_ping_timeout: T.UINT32,
  knet_ping_precision: T.UINT32, knet_pong_count: T.UINT32, knet_transport: T.STRING,
};

const RANGES: Record<number, [bigint, bigint]> = {
  [T.INT8]: [-128n, 127n], [T.UINT8]: [0n, 255n], [T.INT16]: [-32768n, 32767n], [T.UINT16]: [0n, 65535n],
  [T.INT32]: [-2147483648n, 2147483647n], [T.UINT32]: [0n, 4294967295n],
};

/** strtoll(str, 10) that must consume the whole string, then a range check (coroparse's safe_atoq). */
function safeAtoq(key: string, value: string, type: number): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)$/.exec(value);
  const range = RANGES[type]!;
  const n = m ? BigInt(m[1]!) : undefined;
  if (n === undefined || n < range[0] || n > range[1]) {
    throw new ConfigError(
      `Value of key "${key}" is expected to be integer in range (${range[0]}..${range[1]}), but "${value}" was given`,
      { key },
    );
  }
  return Number(n);
}

function strToUll(key: string, value: string): bigint {
  const m = /^[ \t\n\v\f\r]*(\+?\d+)$/.exec(value);
  const n = m ? BigInt(m[1]!) : undefined;
  if (n === undefined || n > 0xffff_ffff_ffff_ffffn) {
    throw new ConfigError(
      `Value of key "${key}" is expected to be unsigned integer, but "${value}" was given`, { key },
    );
  }
  return n;
}

function sectionState(path: string, inherited: State): State {
  switch (path) {
    case 'totem': return 'totem';
    case 'totem.interface': return 'interface';
    case 'totem.interface.member': return 'member';
    case 'system': return 'system';
    case 'quorum': return 'quorum';
    case 'quorum.device': return 'qdevice';
    case 'nodelist': return 'nodelist';
    case 'nodelist.node': return 'node';
    case 'logging.logger_subsys': return 'logger_subsys';
    case 'logging.logging_daemon': return 'logging_daemon';
    case 'uidgid': return 'uidgid';
    case 'resources': return 'resources';
    case 'resources.system': return 'resources_system';
    case 'resources.process': return 'resources_process';
    default: return inherited;
  }
}

/**
 * Parses corosync.conf text the way corosync 3.1.7's coroparse does: line based, `#` comments,
 * `name {` opens a section, `}` closes it, `key: value` sets `path.key`. Returns the cmap keys it
 * creates, in the order corosync creates them. Throws ConfigError (with the line) on what corosync refuses.
 */
export function parseCorosyncConf(text: string, opts: ParseOptions = {}): ConfigEntry[] {
  const file = opts.filename ?? 'corosync.conf';
  const out = new Map<string, ConfigEntry>();
  const set = (key: string, type: number, value: number | bigint | string) => {
    // icmap keeps one value per key: a later line replaces an earlier one (and moves nothing).
    out.set(key, { key, type, value });
  };
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let lineNo = 0;
  let nodeNumber = 0;

  interface Frame { path: string; state: State; items: Map<string, string>; line: number }
  const stack: Frame[] = [{ path: '', state: 'normal', items: new Map(), line: 0 }];

  const fail = (msg: string): never => {
    throw new ConfigError(msg, { line: lineNo, file });
  };

  const item = (frame: Frame, key: string, value: string, path: string) => {
    switch (frame.state) {
      case 'quorum':
        if (QUORUM_U32.has(path)) return set(path, T.UINT32, safeAtoq(path, value, T.UINT32));
        if (QUORUM_U8.has(path)) return set(path, T.UINT8, safeAtoq(path, value, T.UINT8));
        break;
      case 'qdevice':
        if (QDEVICE_U32.has(path)) return set(path, T.UINT32, safeAtoq(path, value, T.UINT32));
        if (path === 'quorum.device.master_wins') return set(path, T.UINT8, safeAtoq(path, value, T.UINT8));
        break;
      case 'totem':
        if (TOTEM_U32.has(path)) return set(path, T.UINT32, safeAtoq(path, value, T.UINT32));
        if (path === 'totem.knet_compression_level') return set(path, T.INT32, safeAtoq(path, value, T.INT32));
        if (path === 'totem.config_version') return set(path, T.UINT64, strToUll(path, value));
        if (path === 'totem.ip_version' && !['ipv4', 'ipv6', 'ipv4-6', 'ipv6-4'].includes(value)) {
          throw new ConfigError(`Invalid ip_version type: ${value}`, { key: path });
        }
        if (path === 'totem.crypto_model' && !['nss', 'openssl'].includes(value)) {
          throw new ConfigError(`Invalid crypto model. Should be nss or openssl`, { key: path });
        }
        if (path === 'totem.crypto_cipher' && !['none', 'aes256', 'aes192', 'aes128'].includes(value)) {
          throw new ConfigError(`Invalid cipher type. Should be none, aes256, aes192 or aes128`, { key: path });
        }
        if (path === 'totem.crypto_hash' && !['none', 'md5', 'sha1', 'sha256', 'sha384', 'sha512'].includes(value)) {
          throw new ConfigError(`Invalid hash type. Should be none, md5, sha1, sha256, sha384 or sha512`, { key: path });
        }
        break;
      case 'system':
        if (path === 'system.qb_ipc_type' && !['native', 'shm', 'socket'].includes(value)) {
          throw new ConfigError(`Invalid system.qb_ipc_type. Should be native, shm or socket`, { key: path });
        }
        break;
      case 'interface': {
        if (key === 'linknumber') {
          safeAtoq(path, value, T.UINT8);
          frame.items.set(key, value);
          return;
        }
        const t = INTERFACE_TYPES[key];
        if (t !== undefined) {
          if (t !== T.STRING) safeAtoq(path, value, t);
          frame.items.set(key, value);
          return;
        }
        break;
      }
      case 'member':
        if (key === 'memberaddr') { frame.items.set(key, value); return; }
        break;
      case 'logger_subsys':
      case 'logging_daemon':
        frame.items.set(key, value);
        return;
      case 'uidgid': {
        if (key !== 'uid' && key !== 'gid') throw new ConfigError('uidgid: Only uid and gid are allowed items');
        const resolve = key === 'uid' ? opts.resolveUser : opts.resolveGroup;
        const id = /^\d+$/.test(value) ? Number(value) : resolve?.(value);
        if (id === undefined) {
          throw new ConfigError(`${key === 'uid' ? 'User' : 'Group'} ${value} not found`, { key: path });
        }
        return set(`uidgid.config.${key}.${id}`, T.UINT8, 1);
      }
      case 'node': {
        const k = `nodelist.node.${nodeNumber}.${key}`;
        if (k.length > MAX_KEY) fail('New key makes total cmap path too long');
        if (key === 'nodeid' || key === 'quorum_votes') return set(k, T.UINT32, safeAtoq(k, value, T.UINT32));
        return set(k, T.STRING, value);
      }
      case 'resources':
        if (key === 'watchdog_timeout') return set(path, T.UINT32, safeAtoq(path, value, T.UINT32));
        break;
      case 'resources_system':
      case 'resources_process':
        if (key === 'poll_period') return set(path, T.UINT64, strToUll(path, value));
        break;
      default:
        break;
    }
    set(path, T.STRING, value);
  };

  const sectionEnd = (frame: Frame) => {
    switch (frame.state) {
      case 'interface': {
        const link = frame.items.get('linknumber') ?? '0';
        const linkNo = Number(link);
        for (const [k, v] of frame.items) {
          if (k === 'linknumber') continue;
          const t = INTERFACE_TYPES[k]!;
          const key = `totem.interface.${linkNo}.${k}`;
          set(key, t, t === T.STRING ? v : safeAtoq(key, v, t));
        }
        break;
      }
      case 'node':
        nodeNumber++;
        break;
      case 'logger_subsys': {
        const subsys = frame.items.get('subsys');
        if (subsys === undefined) throw new ConfigError('No subsys key in logger_subsys directive');
        for (const [k, v] of frame.items) {
          if (k !== 'subsys') set(`logging.logger_subsys.${subsys}.${k}`, T.STRING, v);
        }
        set(`logging.logger_subsys.${subsys}.subsys`, T.STRING, subsys);
        break;
      }
      case 'logging_daemon': {
        const name = frame.items.get('name');
        if (name === undefined) throw new ConfigError('No name key in logging_daemon directive');
        const subsys = frame.items.get('subsys');
        for (const [k, v] of frame.items) {
          if (k === 'subsys' || k === 'name') continue;
          if (name === 'corosync') {
            set(subsys ? `logging.logger_subsys.${subsys}.${k}` : `logging.${k}`, T.STRING, v);
          } else {
            set(subsys ? `logging.logging_daemon.${name}.${subsys}.${k}` : `logging.logging_daemon.${name}.${k}`, T.STRING, v);
          }
        }
        if (subsys === undefined) {
          if (name !== 'corosync') set(`logging.logging_daemon.${name}.name`, T.STRING, name);
        } else if (name === 'corosync') {
          set(`logging.logger_subsys.${subsys}.subsys`, T.STRING, subsys);
        } else {
          set(`logging.logging_daemon.${name}.${subsys}.subsys`, T.STRING, subsys);
          set(`logging.logging_daemon.${name}.${subsys}.name`, T.STRING, name);
        }
        break;
      }
      default:
        break;
    }
  };

  for (let raw of lines) {
    lineNo++;
    if (raw.length > 511) fail('Line too long');
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const line = raw.replace(/[ \t]+$/, '');
    const firstNonBlank = line.search(/[^ \t]/);
    if (firstNonBlank < 0 || line[firstNonBlank] === '#') continue;
    const top = stack[stack.length - 1]!;

    const brace = line.indexOf('{');
    if (brace >= 0) {
      const section = line.slice(0, brace).trim();
      const after = line.slice(brace + 1).trim();
      if (section === '') fail("Missing section name before opening bracket '{'");
      if (after !== '') fail("Extra characters after opening bracket '{'");
      if (top.path.length + section.length + 1 >= MAX_KEY) fail('Start of section makes total cmap path too long');
      const path = top.path === '' ? section : `${top.path}.${section}`;
      stack.push({ path, state: sectionState(path, top.state), items: new Map(), line: lineNo });
      continue;
    }
    const colon = line.indexOf(':');
    if (colon >= 0) {
      const key = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (top.path.length + key.length + 1 >= MAX_KEY) fail('New key makes total cmap path too long');
      const path = top.path === '' ? key : `${top.path}.${key}`;
      try {
        item(top, key, value, path);
      } catch (e) {
        if (e instanceof ConfigError && e.line === undefined) throw new ConfigError(e.message, { line: lineNo, file, key: e.key ?? path });
        throw e;
      }
      continue;
    }
    if (line.includes('}')) {
      if (line.trim() !== '}') fail("Extra characters before or after closing bracket '}'");
      if (stack.length === 1) fail('Unexpected closing brace');
      const frame = stack.pop()!;
      try {
        sectionEnd(frame);
      } catch (e) {
        if (e instanceof ConfigError && e.line === undefined) throw new ConfigError(e.message, { line: lineNo, file, key: e.key });
        throw e;
      }
      continue;
    }
    fail('Line is not opening or closing section or key value');
  }
  if (stack.length > 1) {
    // coroparse reports the line count reached at end of file
    throw new ConfigError('Missing closing brace', { line: lineNo, file });
  }
  return [...out.values()];
}

/**
 * Parses one file of the `uidgid.d` directory next to corosync.conf: only `uidgid { uid: / gid: }`
 * sections, as coroparse's uidgid parser accepts. Returns its `uidgid.config.*` entries.
 */
export function parseUidgidFile(text: string, opts: ParseOptions = {}): ConfigEntry[] {
  let depth = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = { line: i + 1, file: opts.filename ?? 'uidgid.d' };
    if (line.endsWith('{')) {
      if (depth > 0 || line.slice(0, -1).trim() !== 'uidgid') throw new ConfigError("uidgid: Can't add subsection different than uidgid", where);
      depth++;
    } else if (line === '}') {
      depth--;
    } else if (depth === 0) {
      throw new ConfigError('uidgid: Only uid and gid are allowed items', where);
    }
  });
  return parseCorosyncConf(text, { ...opts, filename: opts.filename ?? 'uidgid.d' });
}
