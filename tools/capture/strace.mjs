// Reads `strace -f -xx -s 70000` output of ONE libqb client process and turns it into the
// ordered list of what crossed its sockets, per libqb channel, plus the program's own stdout
// lines. Only syscalls libqb 2.0.6 uses in socket mode are understood; anything else on those
// fds is an error, so a change in libqb's behaviour cannot slip through silently.

const LINE = /^(?:\[pid\s+)?(\d+)\]?\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:\s.*)?$/;

/** bytes of a strace -xx string body ("\x41\x42...") */
function unhex(body) {
  if (body === '') return new Uint8Array(0);
  if (!/^(\\x[0-9a-f]{2})+$/.test(body)) throw new Error(`not a -xx string: ${body.slice(0, 80)}`);
  const out = new Uint8Array(body.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(body.substr(i * 4 + 2, 2), 16);
  return out;
}

function strings(args) {
  return [...args.matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)].map((m) => unhex(m[1]));
}

function cstr(bytes) {
  const nul = bytes.indexOf(0);
  return Buffer.from(nul < 0 ? bytes : bytes.subarray(0, nul)).toString('latin1');
}

/**
 * @returns {{ items: Array<
 *   | { kind: 'stdout', text: string }
 *   | { kind: 'msg', service: string, channel: 'setup'|'reqres'|'event', dir: 'setup'|'req'|'res'|'evt', bytes: Uint8Array, fd: number }
 * > }}  setup replies carry `observed: { control, base }`: the control file the client then
 *   opened and the socket base it bound, i.e. what it took from that reply
 */
export function parseStrace(text) {
  const fds = new Map(); // fd -> { service, channel }
  const lastSetupReply = {}; // service -> the latest setup reply item: gets what the client did with it
  const items = [];
  const unfinished = new Map();
  for (let raw of text.split('\n')) {
    if (raw === '' || raw.includes('+++ exited') || raw.includes('--- SIG')) continue;
    // join "<unfinished ...>" / "<... resumed>" pairs (only happens with several threads)
    const uf = /^(\d+)\s+(.*) <unfinished \.\.\.>$/.exec(raw);
    if (uf) {
      unfinished.set(uf[1], uf[2]);
      continue;
    }
    const rs = /^(\d+)\s+<\.\.\. \w+ resumed>(.*)$/.exec(raw);
    if (rs) raw = `${rs[1]}  ${unfinished.get(rs[1])}${rs[2]}`;
    const m = LINE.exec(raw);
    if (!m) continue;
    const [, , call, args, retS] = m;
    const ret = retS === '?' ? -1 : Number(retS);
    const fd = Number(/^(\d+)/.exec(args)?.[1] ?? -1);
    switch (call) {
      case 'connect': {
        const s = strings(args)[0];
        if (!s || ret !== 0) break;
        const name = cstr(s);
        if (!name.startsWith('/')) fds.set(fd, { service: name, channel: 'setup' });
        break;
      }
      case 'bind': {
        const s = strings(args)[0];
        if (!s) break;
        const name = cstr(s);
        const b = /\/qb-(\w+)-(response|event)$/.exec(name);
        if (b) {
          fds.set(fd, { service: b[1], channel: b[2] === 'response' ? 'reqres' : 'event' });
          if (b[2] === 'response') {
            const base = name.slice(0, -'-response'.length);
            if (lastSetupReply[b[1]]) lastSetupReply[b[1]].observed.base = base;
          }
        }
        break;
      }
      case 'openat': {
        const s = strings(args)[0];
        if (!s) break;
        const name = cstr(s);
        const c = /\/qb-control-(\w+)$/.exec(name);
        if (c && ret >= 0) {
          if (lastSetupReply[c[1]]) lastSetupReply[c[1]].observed.control = name;
        }
        break;
      }
      case 'close':
        fds.delete(fd);
        break;
      case 'write':
        if (fd === 1 && ret > 0) items.push({ kind: 'stdout', text: Buffer.from(strings(args)[0]).toString('utf8') });
        break;
      case 'sendto':
      case 'writev':
      case 'sendmsg':
      case 'recvfrom':
      case 'recvmsg': {
        const role = fds.get(fd);
        if (!role || ret <= 0) break;
        if (/MSG_PEEK/.test(args)) break;
        const parts = strings(args);
        let bytes = Buffer.concat(parts.map((p) => Buffer.from(p)));
        const sending = call === 'sendto' || call === 'writev' || call === 'sendmsg';
        if (!sending) bytes = bytes.subarray(0, ret);
        if (bytes.length !== ret) throw new Error(`short capture for ${call} on fd ${fd}: ${bytes.length} of ${ret} bytes`);
        let dir;
        if (role.channel === 'setup') {
          dir = 'setup';
          if (sending && ret === 1) break; // not in socket mode, but never a message anyway
        } else if (role.channel === 'reqres') dir = sending ? 'req' : 'res';
        else {
          if (sending) throw new Error(`client sent on its event socket (fd ${fd})`);
          dir = 'evt';
        }
        const item = { kind: 'msg', service: role.service, channel: role.channel, dir, bytes: new Uint8Array(bytes), fd, sending };
        if (dir === 'setup' && !sending) {
          item.observed = {};
          lastSetupReply[role.service] = item;
        }
        items.push(item);
        break;
      }
      default:
        break;
    }
  }
  return { items };
}
