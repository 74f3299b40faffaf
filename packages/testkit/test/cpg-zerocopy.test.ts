import { closeSync, existsSync, openSync, readSync, writeSync } from 'node:fs';
import { expect, test } from 'vitest';
import { ZeroCopyMaps } from '../src/cpg/zerocopy.js';

/** A file as libcpg makes it: map size = 56 + the message, msglen at 48, the payload at 56. */
function zcFile(text: string): { path: string; mapSize: bigint } {
  const path = `/dev/shm/corosync_zerocopy-T${String(process.pid % 100000).padStart(5, '0')}`;
  const fd = openSync(path, 'w+', 0o600);
  const b = Buffer.alloc(56 + text.length);
  b.writeUInt32LE(text.length, 48);
  b.write(text, 56);
  writeSync(fd, b, 0, b.length, 0);
  closeSync(fd);
  return {
    path,
    mapSize: BigInt(b.length),
  };
}

test('ZC_EXECUTE reads a mapping another connection made (as corosync dereferences any address); ZC_FREE only frees the connection\'s own', () => {
  const f = zcFile('hello');
  const a = new ZeroCopyMaps();
  const b = new ZeroCopyMaps();
  // the token the mock writes at offset 8, as corosync writes its address
  const fd = openSync(f.path, 'r');
  a.alloc(f.mapSize, f.path, process.getuid!());
  const t = Buffer.alloc(8);
  readSync(fd, t, 0, 8, 8);
  closeSync(fd);
  expect(existsSync(f.path)).toBe(false);
  const token = t.readBigUInt64LE();
  const text = (m: Uint8Array | undefined) => (m === undefined ? undefined : Buffer.from(m).toString());
  expect(text(a.message(token, process.getuid!()))).toBe('hello');
  expect(text(b.message(token, process.getuid!()))).toBe('hello');
  // a client of another uid never reads it
  expect(b.message(token, process.getuid!() + 1)).toBeUndefined();
  b.free(token);
  expect(text(b.message(token, process.getuid!()))).toBe('hello');
  a.close();
  expect(b.message(token, process.getuid!())).toBeUndefined();
});
