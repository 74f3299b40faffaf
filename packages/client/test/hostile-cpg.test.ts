// A hostile or broken cpg/cfg provider (a squatted socket name): whatever it sends, a call or a
// dispatch ends with a typed error or the documented drop, in bounded memory, and nothing else
// is lost or answered wrongly.
import { describe, expect, it } from 'vitest';
import { CS_DISPATCH_ALL, CS_ERR_LIBRARY, isCsError } from '@corosync-ts/types';
import { CpgHandle, type CpgDeliver } from '../src/index.js';
import { evt, fakeConnector, res, tick } from './fake.js';

const g = new TextEncoder().encode('grp');
const code = (e: unknown) => (isCsError(e) ? e.code : e);
const partial = (type: number, msglen: number, fragment: Uint8Array, pid: number) =>
  evt('cpg.partialDeliverCallback', { groupName: g, msglen, nodeid: 1, pid, type, fragment });
const deliver = (pid: number, message: Uint8Array) => evt('cpg.deliverCallback', { groupName: g, msglen: message.length, nodeid: 1, pid, message });

function cpgDaemon() {
  return fakeConnector('cpg', (d) => (d.name === 'cpg.finalize' ? res('cpg.finalize') : res('cpg.error', {}, 7)));
}

describe('cpg fragments from a hostile daemon', () => {
  it('first fragments claiming 4 GiB messages reserve memory by the bytes they carry, not by the claim; other senders go on in order', async () => {
    const fc = cpgDaemon();
    const got: string[] = [];
    const errors: unknown[] = [];
    const h = await CpgHandle.initialize(
      { deliverFn: ({ pid, msg }: CpgDeliver) => got.push(`${pid}:${msg.length}:${msg[0] ?? ''}`) },
      { connect: fc.connect },
    );
    h.on('error', (e: unknown) => errors.push(e));
    const ipc = fc.last;
    const before = process.memoryUsage().arrayBuffers;
    // 64 senders, each a first fragment of a 4 GiB - 1 message: small ones through the usual
    // path, large ones (above 4 KiB) through the read-in-place one (eventInto)
    for (let pid = 100; pid < 132; pid++) ipc.event(partial(1, 0xffffffff, Uint8Array.of(pid), pid));
    for (let pid = 200; pid < 232; pid++) ipc.shmEvent(partial(1, 0xffffffff, new Uint8Array(5000).fill(pid & 0xff), pid));
    ipc.event(deliver(7, Uint8Array.of(42)));
    ipc.event(partial(1, 3, Uint8Array.of(5), 8));
    ipc.event(partial(3, 3, Uint8Array.of(6, 7), 8));
    await tick();
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    expect(got).toEqual(['7:1:42', '8:3:5']);
    expect(errors).toEqual([]);
    await h.finalize();
  });

  it('a message whose last fragment leaves it short of its claimed length is CS_ERR_LIBRARY, never delivered truncated; the next goes on', async () => {
    const fc = cpgDaemon();
    const got: string[] = [];
    const h = await CpgHandle.initialize({ deliverFn: ({ pid, msg }: CpgDeliver) => got.push(`${pid}:${[...msg].join(',')}`) }, { connect: fc.connect, dispatch: 'manual' });
    const ipc = fc.last;
    ipc.event(partial(1, 0xffffffff, Uint8Array.of(1, 2), 7));
    ipc.event(partial(2, 0xffffffff, Uint8Array.of(3), 7));
    ipc.event(partial(3, 0xffffffff, Uint8Array.of(4), 7));
    ipc.event(partial(1, 2, Uint8Array.of(9), 7));
    ipc.event(partial(3, 2, Uint8Array.of(8), 7));
    await tick();
    expect(code(await h.dispatch(CS_DISPATCH_ALL).catch((e: unknown) => e))).toBe(CS_ERR_LIBRARY);
    await h.dispatch(CS_DISPATCH_ALL);
    expect(got).toEqual(['7:9,8']);
    await h.finalize();
  });
});
