// Against the real thing: our client ↔ corosync 3.1.7, and unmodified libqb 2.0.6
// clients (corosync-cmapctl, a qb_ipcc_* C program) ↔ our server. Everything runs in
// private network + mount namespaces; our TypeScript side runs as Node scripts inside.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { compileC, describeReal, startNamespace, type Namespace } from '@corosync-ts/nstest';
import { afterAll, beforeAll, expect, it } from 'vitest';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const node = process.execPath;

async function runJson(ns: Namespace, argv: string[], timeout = 60_000): Promise<Record<string, any>> {
  const r = await ns.exec(argv, { timeout });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, any>;
  } catch {
    throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stdout}\n${r.stderr}`);
  }
}

/** Start one of our server fixtures inside the namespace; resolves once it listens. */
async function startServer(ns: Namespace, argv: string[], prefix: string[] = [], env: Record<string, string> = {}) {
  const child = ns.spawn([...prefix, node, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines: Record<string, any>[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const rl = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    rl.on('line', (l) => {
      const o = JSON.parse(l) as Record<string, any>;
      lines.push(o);
      if (o.event === 'listening') resolve();
    });
    child.once('exit', (code) => reject(new Error(`server fixture exited ${code}: ${stderr}`)));
  });
  return {
    lines,
    stderr: () => stderr,
    async waitFor(pred: (o: Record<string, any>) => boolean, ms = 20_000) {
      const end = Date.now() + ms;
      while (!lines.some(pred)) {
        if (Date.now() > end) throw new Error(`server never logged the expected line; got ${JSON.stringify(lines)} ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function shmEntries(ns: Namespace): Promise<string[]> {
  const r = await ns.exec(['ls', '-A', '/dev/shm']);
  return r.stdout.split('\n').filter((f) => f && !f.includes('blackbox'));
}

for (const transport of ['socket', 'shm'] as const) {
  describeReal(`our client against corosync 3.1.7 (qb_ipc_type ${transport})`, () => {
    let ns: Namespace;
    beforeAll(async () => {
      ns = await startNamespace({ name: `ipc-real-${transport}` });
    });
    afterAll(async () => {
      await ns?.close();
    });

    it('handshakes, requests, pipelines, receives events and carries a ~1 MiB frame without leaks', async () => {
      await ns.startCorosync({ transport });
      const cli = await ns.execOk(['corosync-cmapctl', '-g', 'totem.cluster_name']);
      const r = await runJson(ns, [node, fixture('probe-client.mjs'), 'basic']);
      expect(r.error).toBeUndefined();
      expect(r.transport).toBe(transport);
      expect(r.maxMessageSize).toBe(1048576);
      expect(r.serverCredentials).toEqual({ pid: ns.corosyncProcess!.pid, uid: 0, gid: 0 });
      expect(r.fdIsOpen).toBe(true);
      expect(cli).toContain(`= ${r.get.value}`);
      expect(r.get).toMatchObject({ error: 1, type: 11 });
      expect(r.pipelined).toBe(true);
      expect(r.trackAdd).toBe(1);
      expect(r.events).toEqual(Array(20).fill(9));
      // corosync answers the oversized cmap SET with a bare CS_ERR_INVALID_PARAM header.
      expect(r.big.size).toBeGreaterThan(1_000_000);
      expect(r.big.response).toEqual({ id: 0, size: 24, error: 7 });
      expect(r.afterBig).toBe(r.get.value);
      expect(r.leakedFds).toEqual([]);
      expect(r.shmMappings).toBe(0);
      expect(r.shmDirs).toEqual([]);
    });

    it('rejects pending calls with ECONNRESET when the daemon is killed -9, and leaks nothing', async () => {
      if (!ns.corosyncProcess) await ns.startCorosync({ transport });
      const pid = ns.corosyncProcess!.pid;
      const r = await runJson(ns, [node, fixture('probe-client.mjs'), 'kill', String(pid)]);
      expect(r.error).toBeUndefined();
      expect(r.results.errors.ECONNRESET ?? 0).toBeGreaterThan(0);
      // Nothing else: answered before the kill, rejected with the disconnect error, or
      // (issued after the disconnect was known) ENOTCONN; every call settles.
      expect(Object.keys(r.results.errors).filter((k) => k !== 'ECONNRESET' && k !== 'ENOTCONN')).toEqual([]);
      expect(r.results.ok + r.results.errors.ECONNRESET + (r.results.errors.ENOTCONN ?? 0)).toBe(40);
      expect(r.disconnect).toEqual({ code: 'ECONNRESET', name: 'IpcError' });
      expect(r.connected).toBe(false);
      expect(r.afterDisconnect).toBe('ENOTCONN');
      expect(r.leakedFds).toEqual([]);
      expect(r.shmMappings).toBe(0);
      // libqb 2.0.3+ behaviour: a client that outlives its server removes the server's files.
      expect(r.shmDirs).toEqual([]);
      await ns.stopCorosync();
    });
  });

  describeReal(`unmodified libqb clients against our server (${transport})`, () => {
    let ns: Namespace;
    let qbclient: string;
    beforeAll(async () => {
      ns = await startNamespace({ name: `ipc-srv-${transport}` });
      qbclient = await compileC(readFileSync(fixture('qbclient.c'), 'utf8'), ['-lqb']);
    });
    afterAll(async () => {
      await ns?.close();
    });

    it('serves qb_ipcc_connect / sendv_recv / event_recv / fd_get, large frames, flow control and a server-side drop', async () => {
      const srv = await startServer(ns, [fixture('echo-server.mjs'), transport, 'ctest']);
      try {
        const r = await runJson(ns, [qbclient, 'ctest', '1048576']);
        expect(r.connect).toBe(0);
        expect(r.server.uid).toBe(0);
        expect(r.server.pid).toBeGreaterThan(0);
        expect(r.fd).toBeGreaterThan(2);
        // 16 B, 100 B, 4 KiB, 64 KiB and max-24 B echoes, byte for byte.
        expect(r.echo).toEqual([0, 0, 0, 0, 0]);
        expect(r.events).toBe(50);
        expect(r.eventOrder).toBe(1);
        // flow control on → -EAGAIN from qb_ipcc_sendv_recv, then through once a request on
        // another connection has released it.
        expect(r.flow).toEqual([24, -11, 24, 40]);
        // The server dropped the client: libqb reports -ENOTCONN and is no longer connected.
        expect(r.drop).toBe(-107);
        expect(r.connectedAfter).toBe(0);
        await srv.waitFor((o) => o.event === 'close' && o.remaining === 0);
        expect(srv.lines.find((o) => o.event === 'connection')!.max).toBe(1048576);
        expect(await shmEntries(ns)).toEqual([]);
      } finally {
        await srv.stop();
      }
    });

    it('delivers a burst of events far larger than the event channel to a libqb client, in order', async () => {
      const srv = await startServer(ns, [fixture('echo-server.mjs'), transport, 'burst']);
      try {
        // 65536-byte max: the shm event ring holds ~550 of these 124-byte events, the
        // socket channel 10 datagrams; 20,000 must all arrive, queued, never dropped.
        const r = await runJson(ns, [qbclient, 'burst', '65536', 'events', '20000'], 120_000);
        expect(r).toEqual({ connect: 0, response: 24, events: 20000, eventOrder: 1 });
        await srv.waitFor((o) => o.event === 'close' && o.remaining === 0);
      } finally {
        await srv.stop();
      }
    });

    it('holds 1,000 libqb client connections from one process at once', async () => {
      // 3 fds per socket-transport connection on each side: lift the fd limit for both.
      const srv = await startServer(ns, [fixture('echo-server.mjs'), transport, 'many'], ['prlimit', '--nofile=16384:16384', '--'], { QUIET: '1' });
      try {
        const r = await runJson(ns, [qbclient, 'many', '12328', 'many', '1000'], 300_000);
        expect(r).toEqual({ connected: 1000, echoed: 1000, error: 0 });
        await srv.waitFor((o) => o.event === 'close' && o.remaining === 0, 60_000);
        expect(srv.lines.find((o) => o.event === 'close')!.peak).toBe(1000);
        expect(await shmEntries(ns)).toEqual([]);
      } finally {
        await srv.stop();
      }
    });

    it('answers corosync-cmapctl (iterate, get, set, missing key)', async () => {
      const srv = await startServer(ns, [fixture('cmap-server.mjs'), transport]);
      try {
        const all = await ns.exec(['corosync-cmapctl'], { timeout: 20_000 });
        expect(all.code).toBe(0);
        expect(all.stdout).toBe(
          'runtime.config.totem.token (u32) = 1000\ntotem.cluster_name (str) = ipc-fixture\ntotem.version (u32) = 2\n',
        );
        expect((await ns.exec(['corosync-cmapctl', '-s', 'a.b.c', 'str', 'hello'])).code).toBe(0);
        expect((await ns.exec(['corosync-cmapctl', '-g', 'a.b.c'])).stdout).toBe('a.b.c (str) = hello\n');
        const missing = await ns.exec(['corosync-cmapctl', '-g', 'no.such']);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain('CS_ERR_NOT_EXIST');
        await srv.waitFor((o) => o.event === 'set' && o.key === 'a.b.c');
        await srv.waitFor(() => srv.lines.filter((o) => o.event === 'close').length === 4);
        expect(await shmEntries(ns)).toEqual([]);
      } finally {
        await srv.stop();
      }
    });

    it('answers corosync-quorumtool -l (cmap + quorum + cfg services, quorum snapshot event)', async () => {
      const srv = await startServer(ns, [fixture('cmap-server.mjs'), transport, 'quorum']);
      try {
        const r = await ns.exec(['corosync-quorumtool', '-l'], { timeout: 20_000 });
        expect(r.stderr.trim()).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/Membership information[\s\S]*Nodeid\s+Name\n\s+1 fixture-node1\n/);
        await srv.waitFor((o) => o.event === 'close' && o.service === 'quorum');
      } finally {
        await srv.stop();
      }
      expect(await shmEntries(ns)).toEqual([]);
    });

    it('refuses a client by credentials with -EACCES and serves an allowed non-root one', async () => {
      const srv = await startServer(ns, [fixture('echo-server.mjs'), transport, 'authtest', '65534']);
      try {
        const root = await runJson(ns, [qbclient, 'authtest', '1048576', 'basic']);
        expect(root.connect).toBe(-13);
        const nobody = await runJson(ns, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', qbclient, 'authtest', '1048576', 'basic']);
        expect(nobody.connect).toBe(0);
        expect(nobody.echo).toEqual([0, 0, 0, 0, 0]);
        const conn = srv.lines.find((o) => o.event === 'connection')!;
        expect(conn.credentials).toMatchObject({ uid: 65534, gid: 65534 });
        await srv.waitFor((o) => o.event === 'close' && o.remaining === 0);
        expect(await shmEntries(ns)).toEqual([]);
      } finally {
        await srv.stop();
      }
    });

    it('notices a client killed -9 and removes its /dev/shm files', async () => {
      const srv = await startServer(ns, [fixture('echo-server.mjs'), transport, 'killtest']);
      try {
        const child = ns.spawn([qbclient, 'killtest', '1048576', 'hang'], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
        await srv.waitFor((o) => o.event === 'connection');
        expect((await shmEntries(ns)).length).toBe(1);
        child.kill('SIGKILL');
        await srv.waitFor((o) => o.event === 'close' && o.remaining === 0);
        expect(await shmEntries(ns)).toEqual([]);
      } finally {
        await srv.stop();
      }
    });
  });
}
