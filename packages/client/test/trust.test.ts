// Trust model (issue 9): abstract socket names are first come, first served, so while corosync
// restarts any local user can bind `@cmap`. A handle talks only to a provider running as root or
// as our own uid unless told otherwise; here the testkit mock runs as nobody (65534).
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeRequiring } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CS_ERR_ACCESS, isCsError } from '@corosync-ts/types';
import { CmapHandle, QuorumHandle } from '../src/index.js';

// The testkit's `corosync-mock` command, as installed for this package (its exports map has no bin path).
const mockCli = realpathSync(fileURLToPath(new URL('../node_modules/@corosync-ts/testkit/dist/cli.js', import.meta.url)));
const root = process.getuid?.() === 0;

for (const transport of ['socket', 'shm'] as const) {
  describeRequiring('root (the mock runs as uid 65534)', root ? undefined : 'not root')(`a corosync provider running as uid 65534 (${transport})`, () => {
    let mock: ChildProcess;
    const prefix = `cts-trust-${transport}-${process.pid}`;
    beforeAll(async () => {
      mock = spawn(process.execPath, [mockCli, '--nodes', '1', '--transport', transport, '--prefix', `${prefix}-`], {
        uid: 65534,
        gid: 65534,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        mock.stderr!.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('serving')) resolve();
        });
        mock.once('exit', (code) => reject(new Error(`corosync-mock exited ${code}: ${stderr}`)));
      });
    });
    afterAll(async () => {
      if (!mock || mock.exitCode !== null) return;
      const exited = new Promise((r) => mock.once('exit', r));
      mock.kill('SIGTERM');
      await exited;
    });

    it('is refused by default: initialize rejects CS_ERR_ACCESS, saying who serves', async () => {
      const e = await CmapHandle.initialize({ ipcPrefix: prefix }).catch((x: unknown) => x);
      expect(isCsError(e, CS_ERR_ACCESS)).toBe(true);
      expect((e as Error).message).toMatch(new RegExp(`pid ${mock.pid} running as uid 65534`));
      await expect(QuorumHandle.initialize(null, { ipcPrefix: prefix })).rejects.toSatisfy((x) => isCsError(x, CS_ERR_ACCESS));
    });

    it('is accepted when allowProvider names it (uids, gids or a predicate)', async () => {
      for (const allowProvider of [{ uids: [65534] }, { gids: [65534] }, ({ uid }: { uid: number }) => uid === 65534]) {
        await using h = await CmapHandle.initialize({ ipcPrefix: prefix, allowProvider });
        expect(await h.getString('totem.cluster_name')).toBe('mockcluster');
      }
    });
  });
}
