import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { ipcFds } from '../src/index.js';

it('ipcFds lists a socket and a /dev/shm file while they are open, and not after', async () => {
  const before = ipcFds();
  const dir = mkdtempSync('/dev/shm/nstest-leaks-');
  const fd = openSync(`${dir}/f`, 'w');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const during = ipcFds();
    expect(during).toContain(`${dir}/f`);
    expect(during.filter((t) => t.startsWith('socket:')).length).toBeGreaterThan(before.filter((t) => t.startsWith('socket:')).length);
    expect(during).toEqual([...during].sort());
  } finally {
    closeSync(fd);
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true });
  }
  expect(ipcFds()).toEqual(before);
});
