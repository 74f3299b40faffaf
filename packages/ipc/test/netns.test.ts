// unshareNetns / enterNetns (per-thread network namespace, for corosync-tap) and the
// connection's recorded handshake frames. Needs root (CAP_SYS_ADMIN) for unshare.
import { describeRequiring, run } from '@corosync-ts/nstest';
import { expect, test } from 'vitest';

const root = process.getuid?.() === 0;

describeRequiring('root (CAP_SYS_ADMIN for unshare)', root ? undefined : 'not root')('unshareNetns', () => {
  test('a server listening after unshareNetns() serves that namespace only; handshake frames kept', async () => {
    const r = await run([process.execPath, new URL('./fixtures/netns.mjs', import.meta.url).pathname], { timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['handshake 24 12328 ffffffff', 'inside socket', 'outside ECONNREFUSED', 'bad fd EINVAL', '']);
  });
});
