/// <reference types="node" preserve="true" />
/**
 * SAM (Simple Availability Manager) for Node.js: libsam's API and semantics (corosync 3.1.7
 * lib/sam.c) on Node's process model. See README.md beside this file for what runs where.
 */
import {
  CS_ERR_BAD_HANDLE,
  CS_ERR_INVALID_PARAM,
  CS_ERR_LIBRARY,
  CS_ERR_NOT_SUPPORTED,
  CS_OK,
  CsError,
  SAM_RECOVERY_POLICY_CMAP,
  SAM_RECOVERY_POLICY_QUIT,
  SAM_RECOVERY_POLICY_QUORUM,
  SAM_RECOVERY_POLICY_RESTART,
  SamState,
} from '@corosync-ts/types';
import { ChildChannel } from './child.js';
import type { SamLinkFactory } from './links.js';
import { checkHandleOptions, checkKeys } from '../options.js';
import type { HandleOptions } from '../session.js';
import {
  SAM_CHILD_ENV,
  SAM_COMMAND_HB,
  SAM_COMMAND_MARK_FAILED,
  SAM_COMMAND_START,
  SAM_COMMAND_STOP,
  encodeCommand,
  encodeDataStore,
  encodeWarnSignalSet,
  parseMarker,
  policyBase,
  type ChildMarker,
} from './protocol.js';
import { freshState, type HcCallback } from './state.js';
import { Supervisor, type RelaunchOptions, type SupervisorEvent } from './supervisor.js';

export {
  SAM_RECOVERY_POLICY_QUIT,
  SAM_RECOVERY_POLICY_RESTART,
  SAM_RECOVERY_POLICY_QUORUM,
  SAM_RECOVERY_POLICY_QUORUM_QUIT,
  SAM_RECOVERY_POLICY_QUORUM_RESTART,
  SAM_RECOVERY_POLICY_CMAP,
  SAM_RECOVERY_POLICY_CONFDB,
} from '@corosync-ts/types';
export type { HcCallback } from './state.js';
export type { SupervisorEvent } from './supervisor.js';

const s = freshState();
let connectionOptions: HandleOptions = {};

// Loaded on first use: a child, or a QUIT/RESTART program, never loads the cmap/quorum clients.
async function links(): Promise<SamLinkFactory> {
  return (await import('./client-links.js')).clientLinks(connectionOptions);
}
/** The marker of a supervised child, taken out of process.env at initialize(). */
let marker: ChildMarker | undefined;
let markerRead = false;

function fail(code: number, operation: string, message?: string): never {
  throw new CsError(code, message, { operation });
}

function inState(...states: number[]): boolean {
  return states.includes(s.status);
}

function takeMarker(): ChildMarker | undefined {
  if (!markerRead) {
    markerRead = true;
    const raw = process.env[SAM_CHILD_ENV];
    if (raw !== undefined) {
      // Not inherited by the application's own subprocesses: they are not SAM children.
      delete process.env[SAM_CHILD_ENV];
      marker = parseMarker(raw);
    }
  }
  return marker;
}

/** True in a process that the SAM supervisor started (before or after its register()). */
export function isSupervisedChild(): boolean {
  return takeMarker() !== undefined;
}

/** Signal number for a name ('SIGTERM') or a number; undefined when neither. */
function signalNumber(sig: unknown): number | undefined {
  if (typeof sig === 'number') return Number.isInteger(sig) && sig >= 0 && sig <= 64 ? sig : undefined;
  // node:os read here, not imported: Node's bootstrap does not load it, and every importer paid for it.
  if (typeof sig === 'string') return (process.getBuiltinModule('node:os').constants.signals as Record<string, number>)[sig];
  return undefined;
}

export interface InitializeOptions {
  /**
   * Options of the cmap (CMAP policy) and quorum (QUORUM policy) connections the supervisor opens,
   * e.g. `{ ipcPrefix }` to reach a mock daemon.
   */
  connection?: HandleOptions;
}

/**
 * sam_initialize: `timeInterval` ms without a heartbeat before recovery (0: no health checking,
 * only crash detection); `policy` QUIT or RESTART, optionally | QUORUM and | CMAP. With QUORUM
 * the supervisor-to-be connects to the quorum service here, as libsam does.
 */
export async function initialize(timeInterval: number, policy: number, options: InitializeOptions = {}): Promise<void> {
  const op = 'sam.initialize';
  if (s.status !== SamState.NOT_INITIALIZED || s.busy) fail(CS_ERR_BAD_HANDLE, op);
  if (!Number.isInteger(policy)) fail(CS_ERR_INVALID_PARAM, op, `policy must be an integer, got ${String(policy)}`);
  const base = policyBase(policy);
  if (base !== SAM_RECOVERY_POLICY_QUIT && base !== SAM_RECOVERY_POLICY_RESTART) {
    fail(CS_ERR_INVALID_PARAM, op, `policy 0x${policy.toString(16)} is not QUIT or RESTART (| QUORUM | CMAP)`);
  }
  if (!Number.isInteger(timeInterval) || timeInterval < 0 || timeInterval > 0x7fffffff) {
    fail(CS_ERR_INVALID_PARAM, op, `timeInterval must be an integer number of ms in 0..2147483647, got ${String(timeInterval)}`);
  }
  checkKeys(op, 'options', options, ['connection']);
  checkHandleOptions(op, options.connection);
  connectionOptions = { ...options.connection };
  // The child's supervisor holds the quorum connection; the child itself never opens one.
  const child = takeMarker() !== undefined;
  if (policy & SAM_RECOVERY_POLICY_QUORUM && !child) {
    s.busy = true;
    try {
      s.quorum = await (await links()).openQuorum();
    } finally {
      s.busy = false;
    }
  }
  s.policy = policy;
  s.timeInterval = timeInterval;
  s.status = SamState.INITIALIZED;
  s.warnSignal = 15;
  s.amIChild = false;
  s.userData = null;
}

export interface RegisterOptions {
  /**
   * How the supervisor starts the supervised copy of this program. Defaults: process.execPath,
   * [...process.execArgv, ...process.argv.slice(1)], process.env, process.cwd().
   */
  execPath?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called in the supervisor for every spawn, warning, kill and child exit (libsam logs nothing). */
  onEvent?: (event: SupervisorEvent) => void;
}

/**
 * sam_register. In the process that calls it first, this turns the process into the supervisor:
 * it starts the same program again as the supervised child and never resolves (the supervisor
 * exits with the child's status when the policy says quit). In that child, the same call resolves
 * with the instance id: 1 for the first child, +1 for every restart.
 */
export async function register(options: RegisterOptions = {}): Promise<number> {
  const op = 'sam.register';
  if (s.status !== SamState.INITIALIZED || s.busy) fail(CS_ERR_BAD_HANDLE, op);
  const m = takeMarker();
  s.busy = true;
  try {
    return m === undefined ? await superviseForever(options) : await becomeChild(m);
  } finally {
    s.busy = false;
  }
}

async function becomeChild(m: ChildMarker): Promise<number> {
  const op = 'sam.register';
  let channel: ChildChannel;
  try {
    channel = ChildChannel.open(m.commandFd, m.replyFd);
  } catch (e) {
    throw new CsError(CS_ERR_LIBRARY, 'no SAM channel on the inherited fds', { operation: op, cause: e });
  }
  const data = await channel.readInheritedData();
  if (data === undefined) fail(CS_ERR_LIBRARY, op, 'the supervisor closed the channel');
  s.channel = channel;
  s.instanceId = m.instanceId;
  s.timeInterval = m.timeInterval;
  s.policy = m.policy;
  s.warnSignal = m.warnSignal;
  s.userData = data;
  s.amIChild = true;
  s.status = SamState.REGISTERED;
  return m.instanceId;
}

function relaunchOptions(o: RegisterOptions): RelaunchOptions | undefined {
  const script = process.argv.slice(1);
  const inline = process.execArgv.some((a) => a === '-e' || a === '--eval' || a === '-p' || a === '--print');
  if (o.args === undefined && script.length === 0 && !inline) return undefined;
  return {
    execPath: o.execPath ?? process.execPath,
    args: o.args ?? [...process.execArgv, ...script],
    env: o.env ?? process.env,
    cwd: o.cwd ?? process.cwd(),
    onEvent: o.onEvent,
  };
}

async function superviseForever(o: RegisterOptions): Promise<never> {
  const relaunch = relaunchOptions(o);
  if (relaunch === undefined) {
    fail(CS_ERR_NOT_SUPPORTED, 'sam.register', 'this program cannot be started again (read from stdin); pass options.args');
  }
  return new Supervisor(s, links, relaunch).run();
}

function send(bytes: Uint8Array, op: string): void {
  const err = s.channel === undefined ? CS_ERR_LIBRARY : s.channel.write(bytes);
  if (err !== CS_OK) fail(err, op);
}

/**
 * Runs fn under libsam's lock, re-checking the state once the lock is held: concurrent calls then
 * behave as if made one after the other.
 */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  return s.channel === undefined ? fn() : s.channel.locked(fn);
}

/** sam_start: start health checking. With QUORUM it waits until the cluster is quorate. */
export async function start(): Promise<void> {
  const op = 'sam.start';
  if (s.status !== SamState.REGISTERED) fail(CS_ERR_BAD_HANDLE, op);
  await withLock(async () => {
    if (s.status !== SamState.REGISTERED) fail(CS_ERR_BAD_HANDLE, op);
    send(encodeCommand(SAM_COMMAND_START), op);
    if (s.policy & (SAM_RECOVERY_POLICY_QUORUM | SAM_RECOVERY_POLICY_CMAP)) {
      const err = await s.channel!.readReply();
      if (err !== CS_OK) fail(err, op);
    }
    if (s.hcCallback !== null) tickerCommand(SAM_COMMAND_START);
    s.status = SamState.STARTED;
  });
}

/** sam_stop: stop health checking (the supervisor no longer expects heartbeats). */
export async function stop(): Promise<void> {
  const op = 'sam.stop';
  if (s.status !== SamState.STARTED) fail(CS_ERR_BAD_HANDLE, op);
  await withLock(async () => {
    if (s.status !== SamState.STARTED) fail(CS_ERR_BAD_HANDLE, op);
    send(encodeCommand(SAM_COMMAND_STOP), op);
    if (s.policy & SAM_RECOVERY_POLICY_CMAP) {
      const err = await s.channel!.readReply();
      if (err !== CS_OK) fail(err, op);
    }
    if (s.hcCallback !== null) tickerCommand(SAM_COMMAND_STOP);
    s.status = SamState.REGISTERED;
  });
}

/** sam_hc_send: one heartbeat (application-driven health checking). */
export function hcSend(): void {
  const op = 'sam.hcSend';
  if (s.status !== SamState.STARTED) fail(CS_ERR_BAD_HANDLE, op);
  send(encodeCommand(SAM_COMMAND_HB), op);
}

/**
 * sam_hc_callback_register: event-driven health checking. While started, a heartbeat is sent
 * every timeInterval/4 ms from the event loop and `cb` is called every 4th tick; a callback that
 * returns anything but 0/undefined/false (or throws, or rejects) stops the heartbeats for good, so
 * the supervisor warns and then kills this process. A blocked event loop sends no heartbeats
 * either. Later calls only replace the callback (null then disables it).
 */
export function hcCallbackRegister(cb: HcCallback | null): void {
  const op = 'sam.hcCallbackRegister';
  if (s.status !== SamState.REGISTERED) fail(CS_ERR_BAD_HANDLE, op);
  if (s.timeInterval === 0) fail(CS_ERR_INVALID_PARAM, op, 'time interval is 0 (no health checking)');
  if (cb !== null && typeof cb !== 'function') fail(CS_ERR_INVALID_PARAM, op, 'callback must be a function or null');
  if (s.cbRegistered) {
    s.hcCallback = cb;
    return;
  }
  if (cb === null) fail(CS_ERR_INVALID_PARAM, op, 'the first callback cannot be null');
  s.cbRegistered = true;
  s.hcCallback = cb;
  s.cbStatus = 0;
}

// libsam's hc_callback_thread, on the event loop. Its poll(interval/4) restarts on every START or
// STOP it is told about; the unref'd timer, like libsam's detached thread, never keeps us alive.
function tickerCommand(command: number): void {
  if (s.cbStatus === 0 && command === SAM_COMMAND_START) {
    s.cbStatus = 1;
    s.cbCounter = 0;
  } else if (s.cbStatus === 1 && command === SAM_COMMAND_STOP) {
    s.cbStatus = 0;
  }
  armTicker();
}

function armTicker(): void {
  if (s.cbTimer !== undefined) clearTimeout(s.cbTimer);
  s.cbTimer = undefined;
  if (s.cbStatus !== 1) return;
  s.cbTimer = setTimeout(tick, s.timeInterval >> 2);
  s.cbTimer.unref();
}

function tick(): void {
  s.cbTimer = undefined;
  if (s.cbStatus !== 1) return;
  try {
    hcSend();
    s.cbCounter++;
  } catch {
    // Not started any more, or the supervisor is gone: libsam's thread just does not count it.
  }
  if (s.cbCounter < 4) return armTicker();
  s.cbCounter = 0;
  const cb = s.hcCallback;
  if (cb === null) return armTicker();
  let result: unknown;
  try {
    result = cb();
  } catch {
    result = 1;
  }
  const settle = (r: unknown) => {
    if (!(r === 0 || r === undefined || r === false)) s.cbStatus = 3;
    armTicker();
  };
  if (result instanceof Promise) {
    // libsam's thread is busy while its callback runs: no heartbeat until it returns.
    result.then(settle, () => settle(1));
  } else {
    settle(result);
  }
}

/**
 * sam_warn_signal_set: the signal the supervisor sends at the first missed interval (default
 * SIGTERM; SIGKILL means no warning). A number or a name such as 'SIGUSR1'.
 */
export async function warnSignalSet(signal: number | NodeJS.Signals): Promise<void> {
  const op = 'sam.warnSignalSet';
  if (!inState(SamState.INITIALIZED, SamState.REGISTERED, SamState.STARTED)) fail(CS_ERR_BAD_HANDLE, op);
  const sig = signalNumber(signal);
  if (sig === undefined) fail(CS_ERR_INVALID_PARAM, op, `not a signal: ${String(signal)}`);
  await withLock(async () => {
    if (s.amIChild) {
      send(encodeWarnSignalSet(sig), op);
      const err = await s.channel!.readReply();
      if (err !== CS_OK) fail(err, op);
    }
    s.warnSignal = sig;
  });
}

/**
 * sam_data_store: keep `data` (copied) across child restarts; null deletes it. In the child it is
 * sent to the supervisor, which hands it to every later instance.
 */
export async function dataStore(data: Uint8Array | null): Promise<void> {
  const op = 'sam.dataStore';
  if (!inState(SamState.INITIALIZED, SamState.REGISTERED, SamState.STARTED)) fail(CS_ERR_BAD_HANDLE, op);
  if (data !== null && !(data instanceof Uint8Array)) fail(CS_ERR_INVALID_PARAM, op, 'data must be a Uint8Array or null');
  const copy = data === null ? null : data.slice();
  await withLock(async () => {
    if (s.amIChild) {
      send(encodeDataStore(copy), op);
      const err = await s.channel!.readReply();
      if (err !== CS_OK) fail(err, op);
    }
    s.userData = copy;
  });
}

/** sam_data_getsize: bytes stored (0 when none). */
export function dataGetsize(): number {
  if (!inState(SamState.INITIALIZED, SamState.REGISTERED, SamState.STARTED)) fail(CS_ERR_BAD_HANDLE, 'sam.dataGetsize');
  return s.userData?.byteLength ?? 0;
}

/**
 * sam_data_restore. Without an argument: a copy of the stored data (empty when none). With a
 * target: copies into it and returns the number of bytes copied; CS_ERR_INVALID_PARAM when the
 * target is smaller than the stored data.
 */
export function dataRestore(): Uint8Array;
export function dataRestore(target: Uint8Array): number;
export function dataRestore(target?: Uint8Array): Uint8Array | number {
  const op = 'sam.dataRestore';
  // libsam checks its data pointer before the state.
  if (arguments.length > 0 && !(target instanceof Uint8Array)) fail(CS_ERR_INVALID_PARAM, op, 'target must be a Uint8Array');
  if (!inState(SamState.INITIALIZED, SamState.REGISTERED, SamState.STARTED)) fail(CS_ERR_BAD_HANDLE, op);
  const data = s.userData;
  if (target === undefined) return data === null ? new Uint8Array(0) : data.slice();
  if (data === null || data.byteLength === 0) return 0;
  if (target.byteLength < data.byteLength) {
    fail(CS_ERR_INVALID_PARAM, op, `target has ${target.byteLength} bytes, ${data.byteLength} are stored`);
  }
  target.set(data);
  return data.byteLength;
}

/**
 * sam_mark_failed (CMAP policy only): the supervisor kills this process at once without warning,
 * sets state "failed" in cmap and exits, whatever the policy.
 */
export function markFailed(): void {
  const op = 'sam.markFailed';
  if (!inState(SamState.STARTED, SamState.REGISTERED)) fail(CS_ERR_BAD_HANDLE, op);
  if (!(s.policy & SAM_RECOVERY_POLICY_CMAP)) fail(CS_ERR_INVALID_PARAM, op, 'policy has no SAM_RECOVERY_POLICY_CMAP');
  send(encodeCommand(SAM_COMMAND_MARK_FAILED), op);
}

/**
 * sam_finalize: stops health checking if started (its error, as in libsam, is not reported) and
 * ends the SAM session of this process. The supervisor acts only when this process exits.
 */
export async function finalize(): Promise<void> {
  if (!inState(SamState.INITIALIZED, SamState.REGISTERED, SamState.STARTED)) fail(CS_ERR_BAD_HANDLE, 'sam.finalize');
  if (s.status === SamState.STARTED) {
    try {
      await stop();
    } catch {
      return;
    }
  }
  s.status = SamState.FINALIZED;
  s.userData = null;
  // Before register() a QUORUM session holds a connection libsam would leak; an open socket
  // would keep Node running, so it is closed.
  if (!s.amIChild && s.quorum !== undefined) {
    const q = s.quorum;
    s.quorum = undefined;
    await q.close().catch(() => {});
  }
}

/** The current libsam state name, for diagnostics. */
export function state(): keyof typeof SamState {
  return (Object.keys(SamState) as (keyof typeof SamState)[]).find((k) => SamState[k] === s.status)!;
}
