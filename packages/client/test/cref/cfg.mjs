// The TypeScript half of the cfg reference comparison: the same script as cfg.c through
// @corosync-ts/client (built dist), printing the same lines. Run inside the daemon's namespace.
import { C, P, rc } from './preamble.mjs';
const { CfgHandle, CS_DISPATCH_ONE_NONBLOCKING, COROSYNC_CFG_SHUTDOWN_FLAG_NO, COROSYNC_CFG_SHUTDOWN_FLAG_YES } = C;

const manual = { dispatch: 'manual' };

const [e0, h] = await rc(CfgHandle.initialize(null, manual));
P(`initialize ${e0}`);
const [e1, h2] = await rc(CfgHandle.initialize({ shutdownCallback: () => {} }, manual));
P(`initialize ${e1}`);
const [e2, nodeid] = await rc(h.localGet());
P(`local_get ${e2} ${nodeid}`);
const [e3, ring] = await rc(h.ringStatusGet());
P(`ring_status_get ${e3} ${ring.interfaceNames.length}${ring.interfaceNames.map((n, i) => ` [${n}|${ring.interfaceStatus[i]}]`).join('')}`);

async function nodeStatus(id, version) {
  const [e, s] = await rc(h.nodeStatusGet(id, version));
  let line = `node_status_get(${id}, ${version}) ${e}`;
  if (e === 1) {
    line += ` v=${s.version} node=${s.nodeid} reachable=${s.reachable} remote=${s.remote} external=${s.external} onwire=${s.onwireMin}/${s.onwireMax}/${s.onwireVer}`;
    s.linkStatus.forEach((l, i) => {
      if (l.enabled || l.connected || l.mtu) line += ` link${i}=${l.enabled}/${l.connected}/${l.dynconnected}/${l.mtu}/${l.srcIpaddr}/${l.dstIpaddr}`;
    });
  }
  P(line);
}
await nodeStatus(nodeid, 1);
await nodeStatus(2, 1);
await nodeStatus(99, 1);
await nodeStatus(0, 1);
await nodeStatus(nodeid, 2);

async function addrs(id) {
  const [e, a] = await rc(h.getNodeAddrs(id, 8));
  P(`get_node_addrs(${id}) ${e}${e === 1 ? ` n=${a.length}${a.map((x) => ` ${x.addressLength}/${x.family}/${x.address}`).join('')}` : ''}`);
}
await addrs(0);
await addrs(nodeid);
await addrs(2);
await addrs(99);
P(`kill_node(99) ${(await rc(h.killNode(99, 'test')))[0]}`);
P(`kill_node(long reason) ${(await rc(h.killNode(nodeid, 'r'.repeat(299))))[0]}`);
P(`reopen_log_files ${(await rc(h.reopenLogFiles()))[0]}`);
P(`reload_config ${(await rc(h.reloadConfig()))[0]}`);
P(`replyto_shutdown(no session) ${(await rc(h.replytoShutdown(COROSYNC_CFG_SHUTDOWN_FLAG_YES)))[0]}`);
P(`trackstop(not tracking) ${(await rc(h2.trackstop()))[0]}`);
P(`trackstart ${(await rc(h2.trackstart(0)))[0]}`);
P(`trackstart again ${(await rc(h2.trackstart(0)))[0]}`);
P(`trackstop ${(await rc(h2.trackstop()))[0]}`);
P(`dispatch(ONE_NONBLOCKING) ${(await rc(h.dispatch(CS_DISPATCH_ONE_NONBLOCKING)))[0]}`);
P(`finalize ${(await rc(h2.finalize()))[0]}`);

// The tracker: its own connection, answering NO from its callback (automatic dispatch).
let trackerDone;
const trackerExit = new Promise((r) => (trackerDone = r));
const tracker = await CfgHandle.initialize({
  shutdownCallback: ({ handle, flags }) => {
    P(`  shutdown callback flags=${flags}`);
    void handle.replytoShutdown(COROSYNC_CFG_SHUTDOWN_FLAG_NO).then(() => handle.finalize()).then(() => trackerDone(0), () => trackerDone(1));
  },
});
await tracker.trackstart(0);
P(`try_shutdown(REQUEST) ${(await rc(h.tryShutdown(0)))[0]}`);
P(`tracker exit ${await trackerExit}`);
P(`finalize ${(await rc(h.finalize()))[0]}`);
P(`finalize again ${(await rc(h.finalize()))[0]}`);
