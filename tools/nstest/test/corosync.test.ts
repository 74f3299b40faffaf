import { afterAll, expect, it, vi } from 'vitest';
import { describeReal, startNamespace, type Namespace } from '../src/index.js';
import { hostHasNstestMounts, pin } from './helpers.js';

/** What libqb created in the namespace's /dev/shm for a live client connection. */
async function ipcFilesDuringTrack(ns: Namespace): Promise<string> {
  // cmapctl -t holds its cmap connection open until its stdin says "q" or ends.
  const tracker = ns.spawn(['corosync-cmapctl', '-t', 'nstest.none'], { stdio: ['pipe', 'ignore', 'ignore'] });
  try {
    let listing = '';
    for (let i = 0; i < 200 && !/qb-(control|request)-cmap/.test(listing); i++) {
      listing = (await ns.exec(['sh', '-c', 'ls -R /dev/shm'])).stdout;
      await new Promise((r) => setTimeout(r, 50));
    }
    return listing;
  } finally {
    tracker.kill('SIGKILL');
  }
}

describeReal('startCorosync', () => {
  const opened: Namespace[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((ns) => ns.close()));
  });

  it('stopCorosync after corosync ended on its own signals nobody, though its pid is in use again', async () => {
    const ns = await startNamespace({ name: 'ended' });
    opened.push(ns);
    const cs = await ns.startCorosync({ transport: 'socket' });
    await ns.execOk(['corosync-cfgtool', '-H']);
    await cs.exited;
    // pid_max is 32768 on a small machine: the pid of a corosync gone for a while is someone
    // else's; here every pid answers as alive, and any signal sent is recorded instead
    const sent: [number, string | number | undefined][] = [];
    const kill = vi.spyOn(process, 'kill').mockImplementation((pid, signal) => {
      sent.push([pid, signal]);
      return true;
    });
    try {
      await ns.stopCorosync(1_000);
    } finally {
      kill.mockRestore();
    }
    expect(sent.filter(([pid, signal]) => pid === cs.pid && signal !== 0)).toEqual([]);
    await ns.startCorosync({ transport: 'socket' });
  });

  it('socket mode: a single quorate node, quorumtool -s works, clients get socket transport', async () => {
    const ns = await startNamespace({ name: 'socket' });
    opened.push(ns);
    const cs = await ns.startCorosync({ transport: 'socket' });
    expect(cs.conf).toMatch(/qb_ipc_type: socket/);
    const q = await ns.exec(['corosync-quorumtool', '-s']);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/Quorate:\s+Yes/);
    expect(q.stdout).toMatch(/Nodes:\s+1\n/);
    expect((await ns.execOk(['corosync-cmapctl', '-g', 'runtime.votequorum.this_node_id'])).trim()).toBe(
      'runtime.votequorum.this_node_id (u32) = 1',
    );
    const files = await ipcFilesDuringTrack(ns);
    expect(files).toMatch(/qb-control-cmap/);
    expect(files).not.toMatch(/qb-request-cmap/);
    expect(await ns.members()).toEqual([1]);
  });

  it('shm mode: clients get shared-memory rings', async () => {
    const ns = await startNamespace({ name: 'shm' });
    opened.push(ns);
    const cs = await ns.startCorosync({ transport: 'shm' });
    expect(cs.conf).toMatch(/qb_ipc_type: shm/);
    const q = await ns.exec(['corosync-quorumtool', '-s']);
    expect(q.code, q.stderr).toBe(0);
    const files = await ipcFilesDuringTrack(ns);
    expect(files).toMatch(/qb-request-cmap-header/);
    expect(files).not.toMatch(/qb-control-cmap/);
  });

  it('3-node nodelist with only this node up is not quorate', async () => {
    const ns = await startNamespace({ name: 'one-of-three' });
    opened.push(ns);
    await ns.startCorosync({ nodes: 3 });
    const q = await ns.exec(['corosync-quorumtool', '-s']);
    expect(q.code).toBe(2);
    expect(q.stdout).toMatch(/Expected votes:\s+3/);
    expect(q.stdout).toMatch(/Quorum:\s+2 Activity blocked/);
    const v = await ns.exec(['corosync-quorumtool', '-e', '1']);
    expect(v.code, v.stderr).toBe(0);
    expect((await ns.exec(['corosync-quorumtool', '-s'])).code).toBe(0);
    // the same nodelist again after a stop reuses the dead-end link
    await ns.stopCorosync();
    await ns.startCorosync({ nodes: 3 });
    expect((await ns.exec(['corosync-quorumtool', '-s'])).code).toBe(2);
  });

  it('two_node and wait_for_all reach the config', async () => {
    const ns = await startNamespace({ name: 'two-node' });
    opened.push(ns);
    await ns.startCorosync({ nodes: 2, quorum: { twoNode: true, waitForAll: true } });
    const q = await ns.exec(['corosync-quorumtool', '-s']);
    expect(q.stdout).toMatch(/Flags:\s+2Node WaitForAll/);
    // wait_for_all: not quorate until both nodes have been seen at once.
    expect(q.code).toBe(2);
  });

  it('a bad conf fails fast with corosync\'s own message', async () => {
    const ns = await startNamespace({ name: 'bad-conf' });
    opened.push(ns);
    await expect(ns.startCorosync({ conf: 'totem {\n  version: 2\n' })).rejects.toThrow(
      /corosync exited early[\s\S]*parser error/,
    );
  });

  it('stop, restart, close: nothing left behind', async () => {
    const ns = await startNamespace({ name: 'restart' });
    await ns.startCorosync();
    await ns.stopCorosync();
    await ns.stopCorosync();
    expect((await ns.exec(['corosync-cmapctl', '-g', 'totem.cluster_name'])).code).not.toBe(0);
    await ns.startCorosync({ transport: 'native' });
    const pinned = pin(ns);
    await ns.close();
    expect(pinned.leftovers()).toEqual([]);
    pinned.release();
    expect(hostHasNstestMounts()).toBe(false);
  });
});
