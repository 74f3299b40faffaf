// Run inside a namespace with corosync: a tracker agrees to a shutdown that another handle asks
// for, corosync exits, the test starts it again; the cpg handle joins its group again and the cfg
// tracker tracks again (reconnect option), a handle without it ends 'disconnected'.
const C = await import(new URL('../../dist/index.js', import.meta.url).href);
const { CpgHandle, CfgHandle, COROSYNC_CFG_SHUTDOWN_FLAG_YES, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST } = C;

const P = (s) => process.stdout.write(`${s}\n`);
const str = (b) => Buffer.from(b).toString();
const reconnect = { initialDelay: 50, maxDelay: 200 };
const waiters = [];
const seen = [];
const event = (line) => {
  P(line);
  seen.push(line);
  for (const w of waiters.splice(0)) (w.re.test(line) ? w.resolve : () => waiters.push(w))();
};
const waitFor = (re) => (seen.some((l) => re.test(l)) ? Promise.resolve() : new Promise((resolve) => waiters.push({ re, resolve })));

const g = await CpgHandle.initialize(
  {
    confchgFn: ({ groupName, joinedList, leftList }) =>
      event(`confchg ${str(groupName)} joined=${joinedList.map((a) => `${a.pid === process.pid ? 'self' : a.pid}:${a.reason}`)} left=${leftList.length}`),
    deliverFn: ({ msg, pid }) => event(`deliver ${str(msg)} self=${pid === process.pid}`),
  },
  { reconnect },
);
g.on('disconnect', (e) => event(`cpg disconnect ${e.code}`));
g.on('reconnect', (s) => event(`cpg reconnect group=${str(s.groupName)} members=${s.memberList.map((m) => (m.pid === process.pid ? 'self' : m.pid))}`));
await g.join('rc-g');
await waitFor(/^confchg rc-g joined=self:1/);

const tracker = await CfgHandle.initialize(
  {
    shutdownCallback: ({ handle, flags }) => {
      event(`shutdown callback flags=${flags}`);
      // Its answer races corosync's exit; like cfg.c's shutdown_cb, which drops
      // corosync_cfg_replyto_shutdown's result, nothing here depends on it.
      handle.replytoShutdown(COROSYNC_CFG_SHUTDOWN_FLAG_YES).catch(() => {});
    },
  },
  { reconnect },
);
tracker.on('disconnect', (e) => event(`cfg disconnect ${e.code}`));
tracker.on('reconnect', (s) => event(`cfg reconnect tracking=${s.tracking}`));
await tracker.trackstart(0);

const plain = await CpgHandle.initialize({});
plain.on('disconnect', (e) => event(`plain disconnect ${e.code} state=${plain.state}`));

const asker = await CfgHandle.initialize();
await asker.tryShutdown(COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST);
event('try_shutdown ok');
await waitFor(/^cpg reconnect/);
await waitFor(/^cfg reconnect/);
await waitFor(/^plain disconnect/);
await g.mcastJoined(2, 'after');
await waitFor(/^deliver after self=true/);
await g.finalize();
await tracker.finalize();
// libcpg's cpg_finalize returns CS_ERR_LIBRARY here: its FINALIZE has no daemon to go to.
await plain.finalize().then(() => P('plain finalize 1'), (e) => P(`plain finalize ${e.code} state=${plain.state}`));
P('end');
process.exit(0);
