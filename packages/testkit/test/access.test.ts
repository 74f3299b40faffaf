import { CmapValueType as T } from '@corosync-ts/types';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeRequiring, haveProgram } from '@corosync-ts/nstest';
import { afterEach, expect, test } from 'vitest';
import { startMockCorosync, type MockCorosync } from '../src/index.js';

// corosync's connection rule in the in-process mock, with a client running as uid 65534 (setpriv)
const SCRIPT = fileURLToPath(new URL('./fixtures/try-connect.mjs', import.meta.url));
const PKG = fileURLToPath(new URL('..', import.meta.url));

function asUser(uid: number, gid: number, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, SCRIPT, name], { cwd: PKG, timeout: 30_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim())));
  });
}

// setpriv can only switch users as root
const missing = process.geteuid?.() !== 0 ? 'needs root for setpriv' : haveProgram('setpriv') ? undefined : 'setpriv not installed';

describeRequiring('root and setpriv', missing)('who may connect to the mock', () => {
  let mock: MockCorosync | undefined;
  afterEach(async () => {
    await mock?.close();
    mock = undefined;
  });

  for (const transport of ['socket', 'shm'] as const) {
    test(`${transport}: uid 65534 gets EACCES by default; allow, uidgid config and u8 runtime keys let it in`, async () => {
      expect(process.geteuid?.()).toBe(0);
      mock = await startMockCorosync({ nodes: 1, transport });
      const { cmap, quorum } = mock.endpoint().names;
      expect(await asUser(65534, 65534, cmap)).toBe('err EACCES');
      const store = mock.cluster.node(1).cmap;
      store.set('uidgid.uid.65534', T.UINT32, 1); // icmap_get_uint8 does not read a u32
      expect(await asUser(65534, 65534, quorum)).toBe('err EACCES');
      store.set('uidgid.uid.65534', T.UINT8, 1);
      expect(await asUser(65534, 65534, quorum)).toBe(`ok ${transport}`);
      store.delete('uidgid.uid.65534');
      store.set('uidgid.gid.65534', T.UINT8, 1);
      expect(await asUser(65534, 65534, cmap)).toBe(`ok ${transport}`);
      expect(await asUser(65533, 65533, cmap)).toBe('err EACCES');
      expect(mock.endpoint().connectionCount).toBe(0);
      await mock.close();

      mock = await startMockCorosync({ nodes: 1, transport, allow: { uids: [65533] } });
      expect(await asUser(65533, 65533, mock.endpoint().names.cmap)).toBe(`ok ${transport}`);
      expect(await asUser(65534, 65534, mock.endpoint().names.cmap)).toBe('err EACCES');
      await mock.close();

      mock = await startMockCorosync({ nodes: 1, transport, allow: 'any' });
      expect(await asUser(65534, 65534, mock.endpoint().names.cmap)).toBe(`ok ${transport}`);
      await mock.close();

      const conf = 'totem {\n version: 2\n cluster_name: a\n}\nnodelist {\n node {\n  ring0_addr: 10.0.0.1\n  nodeid: 1\n }\n}\n'
        + 'quorum {\n provider: corosync_votequorum\n}\nuidgid {\n uid: 65534\n}\n';
      mock = await startMockCorosync({ config: conf, transport, allow: {} });
      expect(await asUser(65534, 65534, mock.endpoint().names.cmap)).toBe(`ok ${transport}`);
      expect(await asUser(65533, 65533, mock.endpoint().names.cmap)).toBe('err EACCES');
    }, 120_000);
  }
});
