// The mock's ZC_ALLOC / ZC_FREE / ZC_EXECUTE. A hostile client must never make it hold
// descriptors without bound (each mapping keeps one open, where corosync maps the file and
// closes it), nor leave files in /dev/shm, nor read a freed buffer.
import { closeSync, existsSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { afterEach, expect, test } from 'vitest';
import { ZC_MAX_MAPS, ZC_MAX_MAPS_PER_CONNECTION, ZeroCopyMaps } from '../src/cpg/zerocopy.js';

const uid = process.getuid!();
let made: string[] = [];
let serial = 0;

/** A file as libcpg makes it, a fresh name each time: map size = 56 + the message, msglen at 48, the payload at 56. */
function zcFile(text: string): { path: string; mapSize: bigint } {
  const path = `/dev/shm/corosync_zerocopy-${(process.pid % 36).toString(36)}${(serial++).toString(36).padStart(5, '0')}`;
  made.push(path);
  const fd = openSync(path, 'w+', 0o600);
  const b = Buffer.alloc(56 + text.length);
  b.writeUInt32LE(text.length, 48);
  b.write(text, 56);
  writeSync(fd, b, 0, b.length, 0);
  closeSync(fd);
  return { path, mapSize: BigInt(b.length) };
}

afterEach(() => {
  for (const p of made) if (existsSync(p)) unlinkSync(p);
  made = [];
});

test('ZC_EXECUTE reads a mapping another connection made (as corosync dereferences any address); ZC_FREE only frees the connection\'s own', () => {
  const f = zcFile('hello');
  const a = new ZeroCopyMaps();
  const b = new ZeroCopyMaps();
  // the token the mock writes at offset 8, as corosync writes its address
  const fd = openSync(f.path, 'r');
  a.alloc(f.mapSize, f.path, uid);
  const t = Buffer.alloc(8);
  readSync(fd, t, 0, 8, 8);
  closeSync(fd);
  expect(existsSync(f.path)).toBe(false);
  const token = t.readBigUInt64LE();
  const text = (m: Uint8Array | undefined) => (m === undefined ? undefined : Buffer.from(m).toString());
  expect(text(a.message(token, uid))).toBe('hello');
  expect(text(b.message(token, uid))).toBe('hello');
  // a client of another uid never reads it
  expect(b.message(token, uid + 1)).toBeUndefined();
  b.free(token);
  expect(text(b.message(token, uid))).toBe('hello');
  a.close();
  expect(b.message(token, uid)).toBeUndefined();
});

/** Allocates through `maps` as ZC_ALLOC does; the token the mock wrote at offset 8 (0n: not mapped). */
function alloc(maps: ZeroCopyMaps, text: string): { token: bigint; path: string } {
  const f = zcFile(text);
  const fd = openSync(f.path, 'r');
  try {
    maps.alloc(f.mapSize, f.path, uid);
    const t = Buffer.alloc(8);
    readSync(fd, t, 0, 8, 8);
    return { token: t.readBigUInt64LE(), path: f.path };
  } finally {
    closeSync(fd);
  }
}

const openFds = () => readdirSync('/proc/self/fd').length;

test('free of a buffer never allocated, a double free and a send of a freed buffer change nothing; a client that exits releases every mapping', () => {
  const a = new ZeroCopyMaps();
  const fds = openFds();
  const one = alloc(a, 'one');
  const two = alloc(a, 'two');
  expect(existsSync(one.path) || existsSync(two.path)).toBe(false);
  a.free(0x1234n);
  a.free(one.token);
  a.free(one.token);
  expect(a.message(one.token, uid)).toBeUndefined();
  expect(Buffer.from(a.message(two.token, uid)!).toString()).toBe('two');
  a.close();
  expect(a.message(two.token, uid)).toBeUndefined();
  expect(openFds()).toBe(fds);
});

test('a client allocating without end gets no more mappings than its share, and no file is left behind; what it frees it may allocate again', () => {
  const fds = openFds();
  const a = new ZeroCopyMaps();
  const tokens: bigint[] = [];
  for (let i = 0; i < ZC_MAX_MAPS_PER_CONNECTION; i++) tokens.push(alloc(a, `m${i}`).token);
  expect(tokens.every((t) => t !== 0n)).toBe(true);
  const refused = alloc(a, 'one too many');
  expect(refused.token).toBe(0n);
  // unlinked all the same, as corosync unlinks what it opens: no file left in /dev/shm
  expect(existsSync(refused.path)).toBe(false);
  expect(openFds()).toBe(fds + ZC_MAX_MAPS_PER_CONNECTION);
  a.free(tokens[0]!);
  expect(alloc(a, 'again').token).not.toBe(0n);
  a.close();
  expect(openFds()).toBe(fds);
});

test('many connections together hold at most ZC_MAX_MAPS mappings', () => {
  const fds = openFds();
  const conns: ZeroCopyMaps[] = [];
  let mapped = 0;
  for (let c = 0; mapped < ZC_MAX_MAPS; c++) {
    const m = new ZeroCopyMaps();
    conns.push(m);
    for (let i = 0; i < ZC_MAX_MAPS_PER_CONNECTION && mapped < ZC_MAX_MAPS; i++) if (alloc(m, 'x').token !== 0n) mapped++;
  }
  const late = new ZeroCopyMaps();
  expect(alloc(late, 'late').token).toBe(0n);
  expect(openFds()).toBe(fds + ZC_MAX_MAPS);
  conns[0]!.close();
  expect(alloc(late, 'late').token).not.toBe(0n);
  late.close();
  for (const m of conns) m.close();
  expect(openFds()).toBe(fds);
});
