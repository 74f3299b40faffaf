// Stock-tool runs (corosync-cmapctl, corosync-quorumtool) and what they must have put on the
// wire. Expected fields come from the command line, from the values this script itself set
// (tracked in `store`), from what the tool printed, and from an "oracle" run of capture.c
// (`capture oracle`) made right before each quorumtool run in the same, unchanging cluster state.
//
// Two kinds of values no program prints are copied from the reply bytes, and every later use is
// checked against that copy: the daemon's cmap iterator / track handles (u64 at offset 24 of
// ITER_INIT / TRACK_ADD replies). The tools' own TRACK_ADD cookie is predicted: libqb's hdb
// takes random() from glibc's unseeded generator (seed 1), so cmapctl's first two handles are
// 1804289383 << 32 and 846930886 << 32 | 0.

import { setupExpectations } from './setup.mjs';

const CS_OK = 1;
const TYPES = { i8: 1, u8: 2, i16: 3, u16: 4, i32: 5, u32: 6, i64: 7, u64: 8, flt: 9, dbl: 10, str: 11, bin: 12 };
const NAMES = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v, k]));

const req = (service, name, fields) => ({ service, dir: 'req', name, fields });
const res = (service, name, fields, error = CS_OK) => ({ service, dir: 'res', name, fields, error });
const evt = (service, name, fields) => ({ service, dir: 'evt', name, fields, error: CS_OK });

/** Native little-endian bytes (hex) of a cmapctl command-line value. */
export function valueHex(type, text) {
  const t = TYPES[type];
  const b = Buffer.alloc(8);
  switch (t) {
    case 1: b.writeInt8(Number(text)); return b.subarray(0, 1).toString('hex');
    case 2: b.writeUInt8(Number(text)); return b.subarray(0, 1).toString('hex');
    case 3: b.writeInt16LE(Number(text)); return b.subarray(0, 2).toString('hex');
    case 4: b.writeUInt16LE(Number(text)); return b.subarray(0, 2).toString('hex');
    case 5: b.writeInt32LE(Number(text)); return b.subarray(0, 4).toString('hex');
    case 6: b.writeUInt32LE(Number(text)); return b.subarray(0, 4).toString('hex');
    case 7: b.writeBigInt64LE(BigInt(text)); return b.toString('hex');
    case 8: b.writeBigUInt64LE(BigInt(text)); return b.toString('hex');
    case 9: b.writeFloatLE(Number(text)); return b.subarray(0, 4).toString('hex');
    case 10: b.writeDoubleLE(Number(text)); return b.toString('hex');
    case 11: return Buffer.from(text, 'utf8').toString('hex');
    default: throw new Error(`type ${type}`);
  }
}

const u64At = (bytes, off) => Buffer.from(bytes).readBigUInt64LE(off).toString();

/** What cmapctl prints for a value (print_key), to cross-check our store against its output. */
function printed(type, hex) {
  const b = Buffer.from(hex, 'hex');
  switch (type) {
    case 1: return String(b.readInt8(0));
    case 2: return String(b.readUInt8(0));
    case 3: return String(b.readInt16LE(0));
    case 4: return String(b.readUInt16LE(0));
    case 5: return String(b.readInt32LE(0));
    case 6: return String(b.readUInt32LE(0));
    case 7: return String(b.readBigInt64LE(0));
    case 8: return String(b.readBigUInt64LE(0));
    case 9: return b.readFloatLE(0).toFixed(6);
    case 10: return b.readDoubleLE(0).toFixed(6);
    case 11: return b.subarray(0, b.indexOf(0)).toString('utf8');
    default: throw new Error(`type ${type}`);
  }
}

/** key -> { type, hex } as stored by the daemon (strings with their NUL) */
const store = new Map();
function stored(key) {
  const s = store.get(key);
  if (!s) throw new Error(`script does not know ${key}`);
  return s;
}

function cmapConnect(map = 0) {
  return [...setupExpectations('cmap'), req('cmap', 'cmap.setCurrentMap', { map }), res('cmap', 'cmap.setCurrentMap', {})];
}

/** print_key() after the type is known: typed getter (16-byte buffer) or cmap_get_string. */
function typedGet(key, type, hex) {
  const len = String(hex.length / 2);
  if (type === 11) {
    return [
      req('cmap', 'cmap.get', { keyName: key, valueLen: '0' }),
      res('cmap', 'cmap.get', { valueLen: len, type, value: '' }),
      req('cmap', 'cmap.get', { keyName: key, valueLen: len }),
      res('cmap', 'cmap.get', { valueLen: len, type, value: hex }),
    ];
  }
  return [req('cmap', 'cmap.get', { keyName: key, valueLen: '16' }), res('cmap', 'cmap.get', { valueLen: len, type, value: hex })];
}

function parsePrinted(stdout) {
  return [...stdout.matchAll(/^(?:(create|modify|delete)> )?(\S+) \((\w+)\) = (.*)$/gm)].map((m) => ({
    change: m[1],
    key: m[2],
    type: TYPES[m[3]],
    text: m[4],
  }));
}

function checkPrinted(line, type, hex) {
  if (line.type !== type || line.text !== printed(type, hex)) {
    throw new Error(`cmapctl printed ${line.key} (${NAMES[line.type]}) = ${line.text}; script expected (${NAMES[type]}) = ${printed(type, hex)}`);
  }
}

function setRun(key, type, text) {
  return {
    name: `cmapctl-set-${key}`,
    argv: ['corosync-cmapctl', '-s', '--', key, type, text], // '--': values like -7 are not options
    expect() {
      const hex = valueHex(type, text);
      store.set(key, { type: TYPES[type], hex: TYPES[type] === 11 ? `${hex}00` : hex });
      return [
        ...cmapConnect(),
        req('cmap', 'cmap.set', { keyName: key, valueLen: String(hex.length / 2), type: TYPES[type], value: hex }),
        res('cmap', 'cmap.set', {}),
      ];
    },
  };
}

/** Prefix listing (print_iter): ITER_INIT, then per key ITER_NEXT + print_key, then 27 + FINALIZE. */
function listing(prefix, lines, observed, valueOf, map = 0) {
  const out = [...cmapConnect(map), req('cmap', 'cmap.iterInit', { prefix })];
  // iterInit reply is the 4th+2 message: setup(2) + setCurrentMap(2) + iterInit req
  const initReply = observed[5];
  if (initReply?.dir !== 'res') throw new Error('no ITER_INIT reply where expected');
  const handle = u64At(initReply.bytes, 24);
  out.push(res('cmap', 'cmap.iterInit', { iterHandle: handle }));
  for (const line of lines) {
    const { type, hex } = valueOf(line);
    checkPrinted(line, type, hex);
    out.push(req('cmap', 'cmap.iterNext', { iterHandle: handle }));
    out.push(res('cmap', 'cmap.iterNext', { keyName: line.key, valueLen: String(hex.length / 2), type }));
    out.push(...typedGet(line.key, type, hex));
  }
  out.push(req('cmap', 'cmap.iterNext', { iterHandle: handle }));
  out.push(res('cmap', 'cmap.iterNext', { keyName: '', valueLen: '0', type: 0 }, 27));
  out.push(req('cmap', 'cmap.iterFinalize', { iterHandle: handle }));
  out.push(res('cmap', 'cmap.iterFinalize', {}));
  return out;
}

const GLIBC_RANDOM_SEED1 = [1804289383n, 846930886n];

/** cmapctl -t (exact key, ADD|DELETE|MODIFY) or -T (PREFIX too), with changes made meanwhile. */
function trackRun(flag, tracked, key, trackType) {
  return {
    name: `cmapctl-track${flag}`,
    argv: ['stdbuf', '-oL', 'corosync-cmapctl', flag, tracked], // line-buffered: we wait for its prompt
    // changes made by other (untraced) cmapctl runs while this one tracks
    changes: [
      ['-s', key, 'u8', '1'],
      ['-s', key, 'u8', '2'],
      ['-d', key],
    ],
    expect(stdout, observed) {
      const cookie = ((GLIBC_RANDOM_SEED1[1] << 32n) | 0n).toString();
      // not the source of the expectation, only a check of the prediction
      if (u64At(observed[4].bytes, 288) !== cookie) throw new Error('cmapctl cookie is not the predicted hdb handle');
      const addReply = observed[5];
      const trackHandle = u64At(addReply.bytes, 24);
      const lines = parsePrinted(stdout);
      const exp = [
        { event: 4, change: 'create', nt: 2, nv: '01', ot: 0, ov: '' },
        { event: 2, change: 'modify', nt: 2, nv: '02', ot: 2, ov: '01' },
        { event: 1, change: 'delete', nt: 0, nv: '', ot: 2, ov: '02' },
      ];
      if (lines.length !== exp.length) throw new Error(`tracker printed ${lines.length} changes`);
      lines.forEach((l, i) => {
        const e = exp[i];
        if (l.change !== e.change || l.key !== key) throw new Error(`tracker printed ${l.change} ${l.key}`);
        checkPrinted(l, 2, e.change === 'delete' ? e.ov : e.nv);
      });
      return [
        ...cmapConnect(),
        req('cmap', 'cmap.trackAdd', { keyName: tracked, trackType, trackInstHandle: cookie }),
        res('cmap', 'cmap.trackAdd', { trackHandle }),
        ...exp.map((e) =>
          evt('cmap', 'cmap.notify', {
            trackInstHandle: cookie,
            keyName: key,
            event: e.event,
            newValueType: e.nt,
            oldValueType: e.ot,
            newValueLen: String(e.nv.length / 2),
            oldValueLen: String(e.ov.length / 2),
            newValue: e.nv,
            oldValue: e.ov,
          }),
        ),
      ];
    },
  };
}

export function cmapctlRuns(loadFile) {
  return [
    setRun('capture.tool.u32', 'u32', '42'),
    setRun('capture.tool.str', 'str', 'hello'),
    setRun('capture.tool.i8', 'i8', '-7'),
    setRun('capture.tool.i64', 'i64', '-9000000000'),
    setRun('capture.tool.dbl', 'dbl', '2.5'),
    setRun('capture.tool.flt', 'flt', '0.25'),
    {
      name: 'cmapctl-get-u32',
      argv: ['corosync-cmapctl', '-g', 'capture.tool.u32'],
      expect(stdout) {
        const s = stored('capture.tool.u32');
        const [line] = parsePrinted(stdout);
        checkPrinted(line, s.type, s.hex);
        return [
          ...cmapConnect(),
          req('cmap', 'cmap.get', { keyName: 'capture.tool.u32', valueLen: '0' }),
          res('cmap', 'cmap.get', { valueLen: String(s.hex.length / 2), type: s.type, value: '' }),
          ...typedGet('capture.tool.u32', s.type, s.hex),
        ];
      },
    },
    {
      name: 'cmapctl-get-str',
      argv: ['corosync-cmapctl', '-g', 'capture.tool.str'],
      expect(stdout) {
        const s = stored('capture.tool.str');
        const [line] = parsePrinted(stdout);
        checkPrinted(line, s.type, s.hex);
        return [
          ...cmapConnect(),
          req('cmap', 'cmap.get', { keyName: 'capture.tool.str', valueLen: '0' }),
          res('cmap', 'cmap.get', { valueLen: String(s.hex.length / 2), type: s.type, value: '' }),
          ...typedGet('capture.tool.str', s.type, s.hex),
        ];
      },
    },
    {
      name: 'cmapctl-get-missing',
      argv: ['corosync-cmapctl', '-g', 'capture.tool.missing'],
      exitCode: 1,
      expect() {
        return [
          ...cmapConnect(),
          req('cmap', 'cmap.get', { keyName: 'capture.tool.missing', valueLen: '0' }),
          res('cmap', 'cmap.get', { valueLen: '0', type: 0, value: '' }, 12),
        ];
      },
    },
    {
      name: 'cmapctl-list',
      argv: ['corosync-cmapctl', 'capture.tool.'],
      expect(stdout, observed) {
        const lines = parsePrinted(stdout);
        const keys = [...store.keys()].filter((k) => k.startsWith('capture.tool.')).sort();
        if (lines.map((l) => l.key).join() !== keys.join()) throw new Error(`listing printed ${lines.map((l) => l.key)}, store has ${keys}`);
        return listing('capture.tool.', lines, observed, (l) => stored(l.key));
      },
    },
    {
      name: 'cmapctl-delete',
      argv: ['corosync-cmapctl', '-d', 'capture.tool.u32'],
      expect() {
        store.delete('capture.tool.u32');
        return [...cmapConnect(), req('cmap', 'cmap.delete', { keyName: 'capture.tool.u32' }), res('cmap', 'cmap.delete', {})];
      },
    },
    {
      name: 'cmapctl-load',
      argv: ['corosync-cmapctl', '-p', loadFile.path],
      expect() {
        const out = [...cmapConnect()];
        for (const l of loadFile.lines) {
          if (l.startsWith('^')) {
            out.push(req('cmap', 'cmap.delete', { keyName: l.slice(1) }), res('cmap', 'cmap.delete', {}));
            store.delete(l.slice(1));
          } else {
            const [key, type, text] = l.split(' ');
            const hex = valueHex(type, text);
            store.set(key, { type: TYPES[type], hex: TYPES[type] === 11 ? `${hex}00` : hex });
            out.push(
              req('cmap', 'cmap.set', { keyName: key, valueLen: String(hex.length / 2), type: TYPES[type], value: hex }),
              res('cmap', 'cmap.set', {}),
            );
          }
        }
        return out;
      },
    },
    {
      name: 'cmapctl-stats',
      argv: ['corosync-cmapctl', '-m', 'stats', 'stats.ipcs.global.'],
      expect(stdout, observed) {
        // stats values are computed by the daemon at each GET: what cmapctl printed is the value
        const lines = parsePrinted(stdout);
        if (lines.length !== 2) throw new Error(`stats listing printed ${lines.length} keys`);
        return listing('stats.ipcs.global.', lines, observed, (l) => ({ type: l.type, hex: valueHex('u64', l.text) }), 1);
      },
    },
    trackRun('-T', 'capture.tool.', 'capture.tool.tracked', 15),
    trackRun('-t', 'capture.tool.exact', 'capture.tool.exact', 7),
  ];
}

// ------------------------------------------------------------------ corosync-quorumtool

/** Parses `capture oracle` output into the facts quorumtool runs are checked against. */
export function parseOracle(stdout) {
  const o = { info: {}, addrs: {}, nodelistKeys: [], interfaceKeys: [], nodeStatus: {} };
  let step;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('@@')) continue;
    const j = JSON.parse(line.slice(2));
    if (j.k === 'fatal') throw new Error(`oracle: ${j.msg}`);
    if (j.k === 'step') step = j;
    else if (j.k === 'ret' && step?.op === 'votequorum_getinfo') o.info[step.nodeid] = j;
    else if (j.k === 'evt' && j.cb === 'quorum_v0') o.v0 = j;
    else if (j.k === 'evt' && j.cb === 'votequorum_nodelist') o.vqNodelist = j;
    else if (j.k === 'evt' && j.cb === 'votequorum_quorum') o.vqQuorum = j;
    else if (j.k === 'fact' && j.what === 'cmap') Object.assign(o, { provider: j.provider, thisNodeId: j.thisNodeId });
    else if (j.k === 'fact' && j.what === 'quorum') Object.assign(o, { quorumType: j.quorumType, quorate: j.quorate });
    else if (j.k === 'fact' && j.what === 'nodelistKey') o.nodelistKeys.push(j);
    else if (j.k === 'fact' && j.what === 'interfaceKey') o.interfaceKeys.push(j);
    else if (j.k === 'fact' && j.what === 'transportKey') o.transport = j;
    else if (j.k === 'ret' && step?.op === 'corosync_cfg_node_status_get') o.nodeStatus[step.nodeid] = j;
    else if (j.k === 'fact' && j.what === 'addrs') o.addrs[j.nodeid] = j;
  }
  for (const k of ['provider', 'thisNodeId', 'quorumType', 'quorate', 'v0', 'vqNodelist', 'vqQuorum']) {
    if (o[k] === undefined) throw new Error(`oracle did not report ${k}`);
  }
  return o;
}

const le32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b.toString('hex');
};

function getString(key, value) {
  const hex = `${Buffer.from(value, 'utf8').toString('hex')}00`;
  return typedGet(key, 11, hex);
}

function getinfoReply(i) {
  return res('votequorum', 'votequorum.getinfo', {
    nodeid: i.nodeid,
    state: i.state,
    votes: i.votes,
    expectedVotes: i.expectedVotes,
    highestExpected: i.highestExpected,
    totalVotes: i.totalVotes,
    quorum: i.quorum,
    flags: i.flags,
    qdeviceVotes: i.qdeviceVotes,
    qdeviceName: i.qdeviceName,
  });
}

/** init_all(): cmap, quorum (+GETTYPE), cfg, using_votequorum(), votequorum, this_node_id */
function qtInit(o) {
  return [
    ...setupExpectations('cmap'),
    ...setupExpectations('quorum'),
    req('quorum', 'quorum.gettype', {}),
    res('quorum', 'quorum.gettype', { quorumType: o.quorumType }),
    ...setupExpectations('cfg'),
    ...getString('quorum.provider', o.provider),
    ...setupExpectations('votequorum'),
    ...typedGet('runtime.votequorum.this_node_id', 6, le32(o.thisNodeId)),
  ];
}

function v0Event(o) {
  return evt('quorum', 'quorum.notification', {
    quorate: o.v0.quorate,
    ringSeq: o.v0.ringSeq,
    viewListEntries: o.v0.viewList.length,
    viewList: o.v0.viewList,
  });
}

function vqNodelistEvent(o, context) {
  return evt('votequorum', 'votequorum.nodelistNotification', {
    context,
    ringId: o.vqNodelist.ringId,
    nodeListEntries: o.vqNodelist.nodeList.length,
    nodeList: o.vqNodelist.nodeList,
  });
}

/** node_name_by_nodelist(): walk nodelist.node.*, GET each *.nodeid, stop at the match. */
function nameLookup(o, nodeid, observed, at) {
  const out = [req('cmap', 'cmap.iterInit', { prefix: 'nodelist.node.' })];
  const reply = observed[at + 1];
  if (reply?.dir !== 'res' || reply.service !== 'cmap') throw new Error('no ITER_INIT reply where expected');
  const handle = u64At(reply.bytes, 24);
  out.push(res('cmap', 'cmap.iterInit', { iterHandle: handle }));
  let found = false;
  for (const k of o.nodelistKeys) {
    out.push(req('cmap', 'cmap.iterNext', { iterHandle: handle }));
    out.push(res('cmap', 'cmap.iterNext', { keyName: k.key, valueLen: String(k.len), type: k.type }));
    const m = /^nodelist\.node\.(\d+)\.nodeid$/.exec(k.key);
    if (!m) continue;
    out.push(...typedGet(k.key, k.type, k.value));
    if (Buffer.from(k.value, 'hex').readUInt32LE(0) !== nodeid) continue;
    const nameKey = o.nodelistKeys.find((x) => x.key === `nodelist.node.${m[1]}.name`);
    out.push(...typedGet(nameKey.key, 11, nameKey.value));
    found = true;
    break;
  }
  if (!found) {
    out.push(req('cmap', 'cmap.iterNext', { iterHandle: handle }));
    out.push(res('cmap', 'cmap.iterNext', { keyName: '', valueLen: '0', type: 0 }, 27));
  }
  out.push(req('cmap', 'cmap.iterFinalize', { iterHandle: handle }));
  out.push(res('cmap', 'cmap.iterFinalize', {}));
  return out;
}

/** display_nodes_data(): GETINFO per view node, then per node its name and cfg addresses. */
function nodesData(o, observed, at) {
  const view = o.v0.viewList;
  const out = [];
  for (const id of view) out.push(req('votequorum', 'votequorum.getinfo', { nodeid: id }), getinfoReply(o.info[id]));
  for (const id of view) {
    out.push(...nameLookup(o, id, observed, at + out.length));
    const a = o.addrs[id];
    out.push(
      req('cfg', 'cfg.getNodeAddrs', { nodeid: id }),
      res('cfg', 'cfg.getNodeAddrs', { family: a.family, numAddrs: a.numAddrs, addrs: a.addrs }),
    );
  }
  return out;
}

/** display_quorum_data(): get_quorum_type(), GETINFO(our id), display_nodes_data() */
function quorumData(o, observed, at) {
  const out = [
    ...getString('quorum.provider', o.provider),
    req('votequorum', 'votequorum.getinfo', { nodeid: o.thisNodeId }),
    getinfoReply(o.info[o.thisNodeId]),
  ];
  return [...out, ...nodesData(o, observed, at + out.length)];
}

function checkStatusOutput(stdout, o) {
  const me = o.info[o.thisNodeId];
  const want = [
    [/Node ID:\s+(\d+)/, String(o.thisNodeId)],
    [/Ring ID:\s+(\S+)/, `${o.vqNodelist.ringId.nodeid}.${BigInt(o.vqNodelist.ringId.seq).toString(16)}`],
    [/Quorate:\s+(\w+)/, o.quorate ? 'Yes' : 'No'],
    [/Expected votes:\s+(\d+)/, String(me.expectedVotes)],
    [/Highest expected:\s+(\d+)/, String(me.highestExpected)],
    [/Total votes:\s+(\d+)/, String(me.totalVotes)],
    [/Quorum:\s+(\d+)/, String(me.quorum)],
  ];
  for (const [re, v] of want) {
    const got = re.exec(stdout)?.[1];
    if (got !== v) throw new Error(`quorumtool printed ${re} = ${got}, oracle says ${v}`);
  }
}

export function quorumtoolRuns() {
  return [
    {
      name: 'quorumtool-s',
      argv: ['corosync-quorumtool', '-s'],
      oracle: true,
      expect(stdout, observed, o) {
        checkStatusOutput(stdout, o);
        const out = [
          ...qtInit(o),
          req('quorum', 'quorum.getquorate', {}),
          res('quorum', 'quorum.getquorate', { quorate: o.quorate }),
          req('quorum', 'quorum.trackstart', { trackFlags: 1 }),
          res('quorum', 'quorum.trackstart', {}),
          v0Event(o),
          req('quorum', 'quorum.trackstop', {}),
          res('quorum', 'quorum.trackstop', {}),
          ...getString('quorum.provider', o.provider),
          req('votequorum', 'votequorum.trackstart', { context: '0', trackFlags: 1 }),
          res('votequorum', 'votequorum.status', {}),
          vqNodelistEvent(o, '0'),
        ];
        return [...out, ...quorumData(o, observed, out.length)];
      },
      exitCode: (o) => (o.quorate ? 0 : 2),
    },
    {
      name: 'quorumtool-l',
      argv: ['corosync-quorumtool', '-l'],
      oracle: true,
      expect(stdout, observed, o) {
        for (const id of o.v0.viewList) {
          if (!new RegExp(`^\\s+${id}\\s+${o.info[id].votes}\\s`, 'm').test(stdout)) throw new Error(`-l did not list node ${id}`);
        }
        const out = [
          ...qtInit(o),
          req('quorum', 'quorum.trackstart', { trackFlags: 1 }),
          res('quorum', 'quorum.trackstart', {}),
          v0Event(o),
        ];
        return [...out, ...nodesData(o, observed, out.length)];
      },
    },
    {
      name: 'quorumtool-m',
      // the monitor's first report, then SIGINT
      argv: ['timeout', '-s', 'INT', '5', 'stdbuf', '-oL', 'corosync-quorumtool', '-m'],
      oracle: true,
      exitCode: 124,
      expect(stdout, observed, o) {
        checkStatusOutput(stdout, o);
        const out = [
          ...qtInit(o),
          req('quorum', 'quorum.trackstart', { trackFlags: 2 }),
          res('quorum', 'quorum.trackstart', {}),
          ...getString('quorum.provider', o.provider),
          req('votequorum', 'votequorum.trackstart', { context: '0', trackFlags: 2 }),
          res('votequorum', 'votequorum.status', {}),
          v0Event(o),
          ...getString('quorum.provider', o.provider),
          vqNodelistEvent(o, '0'),
        ];
        return [...out, ...quorumData(o, observed, out.length)];
      },
    },
    {
      name: 'quorumtool-v',
      argv: ['corosync-quorumtool', '-v', '2'],
      oracle: true,
      expect(stdout, observed, o) {
        return [
          ...qtInit(o),
          ...getString('quorum.provider', o.provider),
          req('votequorum', 'votequorum.setvotes', { votes: 2, nodeid: o.thisNodeId }),
          res('votequorum', 'votequorum.status', {}),
        ];
      },
    },
    {
      name: 'quorumtool-e',
      argv: ['corosync-quorumtool', '-e', '3'],
      oracle: true,
      expect(stdout, observed, o) {
        return [
          ...qtInit(o),
          ...getString('quorum.provider', o.provider),
          req('votequorum', 'votequorum.setexpected', { expectedVotes: 3 }),
          res('votequorum', 'votequorum.status', {}),
        ];
      },
    },
    {
      name: 'quorumtool-e-invalid',
      // fewer expected votes than votes present: the daemon refuses with CS_ERR_INVALID_PARAM
      argv: ['corosync-quorumtool', '-e', '1'],
      oracle: true,
      exitCode: 1,
      expect(stdout, observed, o) {
        if (o.info[o.thisNodeId].totalVotes <= 1) throw new Error('-e 1 is only invalid with more than 1 vote present');
        return [
          ...qtInit(o),
          ...getString('quorum.provider', o.provider),
          req('votequorum', 'votequorum.setexpected', { expectedVotes: 1 }),
          res('votequorum', 'votequorum.status', {}, 7),
        ];
      },
    },
  ];
}

// ------------------------------------------------------------------ corosync-cpgtool / -cfgtool

/**
 * corosync-cpgtool against one member (capture.c cpg-member, `member` = its printed fact:
 * pid and group, a name with a backslash and a control byte). The iteration handle is the
 * daemon's (copied from the bytes, as for cmap iterators); the rest is what the tool printed,
 * the member's own facts, and the oracle's addresses of node 1.
 */
export function cpgtoolRuns(member) {
  const group = () => Buffer.from(member.group, 'hex');
  // cpgtool's escaping: bytes outside 0x20-0x7e as \xHH, a backslash doubled
  const escaped = () =>
    [...group()].map((c) => (c === 0x5c ? '\\\\' : c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
  // the full listing looks up each member's addresses; -n and -d print no addresses
  const run = (name, argv, { nameOnly = false, addresses = !nameOnly, printedName }) => ({
    name,
    argv,
    oracle: true,
    expect(stdout, observed, o) {
      if (!stdout.includes(printedName())) throw new Error(`${name} did not print the group ${printedName()}: ${stdout}`);
      if (!nameOnly && !stdout.includes(String(member.pid))) throw new Error(`${name} did not print pid ${member.pid}`);
      let handle;
      const a = o.addrs[o.thisNodeId];
      const out = [
        ...setupExpectations('cpg'),
        ...setupExpectations('cfg'),
        // no group for ALL / NAME_ONLY: cpgtool's request leaves it unset
        req('cpg', 'cpg.iterationInitialize', { groupName: '', iterationType: nameOnly ? 1 : 3 }),
        {
          ...res('cpg', 'cpg.iterationInitialize', undefined),
          fill(bytes) {
            handle = u64At(bytes, 24);
            return { iterationHandle: handle };
          },
        },
        { ...req('cpg', 'cpg.iterationNext', undefined), fill: () => ({ iterationHandle: handle }) },
        // NAME_ONLY entries carry nodeid = pid = 0 (exec/cpg.c)
        res('cpg', 'cpg.iterationNext', { groupName: member.group, nodeid: nameOnly ? 0 : o.thisNodeId, pid: nameOnly ? 0 : member.pid }),
        ...(!addresses
          ? []
          : [
              req('cfg', 'cfg.getNodeAddrs', { nodeid: o.thisNodeId }),
              res('cfg', 'cfg.getNodeAddrs', { family: a.family, numAddrs: a.numAddrs, addrs: a.addrs }),
            ]),
        { ...req('cpg', 'cpg.iterationNext', undefined), fill: () => ({ iterationHandle: handle }) },
        res('cpg', 'cpg.iterationNext', { groupName: '', nodeid: 0, pid: 0 }, 27),
        { ...req('cpg', 'cpg.iterationFinalize', undefined), fill: () => ({ iterationHandle: handle }) },
        res('cpg', 'cpg.iterationFinalize', {}),
        req('cpg', 'cpg.finalize', {}),
        res('cpg', 'cpg.finalize', {}),
      ];
      return out;
    },
  });
  return [
    run('cpgtool', ['corosync-cpgtool'], { printedName: escaped }),
    run('cpgtool-n', ['corosync-cpgtool', '-n'], { nameOnly: true, printedName: escaped }),
    run('cpgtool-d', ['corosync-cpgtool', '-d', ','], { addresses: false, printedName: () => `${escaped()},${member.pid},` }),
    run('cpgtool-e', ['corosync-cpgtool', '-e'], { printedName: () => group().toString('latin1') }),
  ];
}

/**
 * corosync-cfgtool -s / -b / -n (show_status): cfg and cmap connect (cmap_initialize: no
 * SET_CURRENT_MAP), totem.transport, LOCAL_GET, the walk of nodelist.node. reading each
 * `.nodeid` (that iterator is never finalized), the walk of totem.interface. reading any
 * `.knet_transport`, then NODESTATUSGET V1 of every node in nodeid order. Keys, values and node
 * status come from the oracle; the daemon's iterator handles from the ITER_INIT replies.
 */
function statusRun(name, flags) {
  return {
    name,
    argv: ['corosync-cfgtool', ...flags],
    oracle: true,
    expect(stdout, observed, o) {
      const transport = Buffer.from(o.transport.value, 'hex').toString('latin1').replace(/\0$/, '');
      if (!stdout.includes(`Local node ID ${o.thisNodeId}, transport ${transport}`)) throw new Error(`${name} printed ${stdout}`);
      const walk = (prefix, keys, read, finalize) => {
        let handle;
        const next = () => ({ ...req('cmap', 'cmap.iterNext', undefined), fill: () => ({ iterHandle: handle }) });
        const out = [
          req('cmap', 'cmap.iterInit', { prefix }),
          {
            ...res('cmap', 'cmap.iterInit', undefined),
            fill(bytes) {
              handle = u64At(bytes, 24);
              return { iterHandle: handle };
            },
          },
        ];
        for (const k of keys) {
          out.push(next(), res('cmap', 'cmap.iterNext', { keyName: k.key, valueLen: String(k.len), type: k.type }));
          if (read.test(k.key)) out.push(...typedGet(k.key, k.type, k.value));
        }
        out.push(next(), res('cmap', 'cmap.iterNext', { keyName: '', valueLen: '0', type: 0 }, 27));
        if (finalize) out.push({ ...req('cmap', 'cmap.iterFinalize', undefined), fill: () => ({ iterHandle: handle }) }, res('cmap', 'cmap.iterFinalize', {}));
        return out;
      };
      const ids = o.nodelistKeys
        .filter((k) => /^nodelist\.node\.\d+\.nodeid$/.test(k.key))
        .map((k) => Buffer.from(k.value, 'hex').readUInt32LE(0))
        .sort((a, b) => a - b);
      return [
        ...setupExpectations('cfg'),
        ...setupExpectations('cmap'),
        ...typedGet('totem.transport', 11, o.transport.value),
        req('cfg', 'cfg.localGet', {}),
        res('cfg', 'cfg.localGet', { localNodeid: o.thisNodeId }),
        ...walk('nodelist.node.', o.nodelistKeys, /^nodelist\.node\.\d+\.nodeid$/, false),
        ...walk('totem.interface.', o.interfaceKeys, /^totem\.interface\.\d+\.knet_transport$/, true),
        ...ids.flatMap((id) => {
          const { rc, k: _k, ...status } = o.nodeStatus[id];
          if (rc !== CS_OK) throw new Error(`oracle: node status of ${id} failed (${rc})`);
          return [req('cfg', 'cfg.nodeStatusGet', { nodeid: id, version: 1 }), res('cfg', 'cfg.nodeStatusGet', status)];
        }),
      ];
    },
  };
}

/** corosync-cfgtool calls that leave the daemon running. */
export function cfgtoolRuns() {
  return [
    statusRun('cfgtool-s', ['-s']),
    statusRun('cfgtool-s-b', ['-s', '-b']),
    statusRun('cfgtool-n', ['-n']),
    {
      name: 'cfgtool-a',
      argv: ['corosync-cfgtool', '-a', '1'],
      oracle: true,
      expect(stdout, observed, o) {
        const a = o.addrs[1];
        const ip = Buffer.from(a.addrs[0], 'hex').subarray(0, 4).join('.');
        if (!stdout.includes(ip)) throw new Error(`cfgtool -a printed ${stdout}, not ${ip}`);
        return [
          ...setupExpectations('cfg'),
          req('cfg', 'cfg.getNodeAddrs', { nodeid: 1 }),
          res('cfg', 'cfg.getNodeAddrs', { family: a.family, numAddrs: a.numAddrs, addrs: a.addrs }),
        ];
      },
    },
    {
      name: 'cfgtool-R',
      argv: ['corosync-cfgtool', '-R'],
      expect(stdout) {
        if (!stdout.includes('Done')) throw new Error(`cfgtool -R printed ${stdout}`);
        return [...setupExpectations('cfg'), req('cfg', 'cfg.reloadConfig', {}), res('cfg', 'cfg.reloadConfig', {})];
      },
    },
    {
      name: 'cfgtool-L',
      argv: ['corosync-cfgtool', '-L'],
      expect() {
        return [...setupExpectations('cfg'), req('cfg', 'cfg.reopenLogFiles', {}), res('cfg', 'cfg.reopenLogFiles', {})];
      },
    },
  ];
}
