import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMockCorosync, type MockCorosync } from '@corosync-ts/testkit';
import { CS_ERR_QUEUE_FULL, CS_ERR_TRY_AGAIN, isCsError } from '@corosync-ts/types';
import { CmapHandle, CpgHandle, type CpgConfchg, type CpgDeliver } from '../src/index.js';

// The `retry` option and large cpg messages against faults injected into the testkit mock
// (mock.faults): refusals the daemon gives under load, flow control, a sender dying mid-message.
for (const transport of ['socket', 'shm'] as const) {
  describe(`against mock.faults (${transport})`, () => {
    let mock: MockCorosync;
    beforeEach(async () => {
      mock = await startMockCorosync({ nodes: 3, transport, endpoints: [1, 2] });
    });
    afterEach(async () => {
      await mock?.close();
    });

    it('retry: two injected TRY_AGAIN answers and one QUEUE_FULL are retried; without retry the first is the caller\'s CsError', async () => {
      await using h = await CmapHandle.initialize({ ipcPrefix: mock.prefix, retry: { initialDelay: 1 } });
      const fault = mock.faults.inject({ call: 'cmap.get', error: CS_ERR_TRY_AGAIN, times: 2 });
      expect(await h.getString('totem.cluster_name')).toBeTypeOf('string');
      expect(fault.hits).toBe(2);
      mock.faults.inject({ call: 'cmap.set', error: CS_ERR_QUEUE_FULL, times: 1 });
      await h.setUint32('app.k', 5);
      expect(await h.getUint32('app.k')).toBe(5);
      await using plain = await CmapHandle.initialize({ ipcPrefix: mock.prefix });
      mock.faults.inject({ call: 'cmap.get', error: CS_ERR_TRY_AGAIN, times: 1 });
      await expect(plain.getString('totem.cluster_name')).rejects.toSatisfy((e) => isCsError(e, CS_ERR_TRY_AGAIN));
      expect(await plain.getString('totem.cluster_name')).toBeTypeOf('string');
    });

    it('flow control (level 1): every attempt is refused with TRY_AGAIN until it is lifted', async () => {
      await using h = await CmapHandle.initialize({ ipcPrefix: mock.prefix, retry: { retries: 2, initialDelay: 1 } });
      const fc = mock.faults.flowControl({ service: 'cmap' });
      await expect(h.getString('totem.cluster_name')).rejects.toSatisfy((e) => isCsError(e, CS_ERR_TRY_AGAIN));
      fc.remove();
      expect(await h.getString('totem.cluster_name')).toBeTypeOf('string');
    });

    it('flow control level 2 (a full totem queue): cpg multicasts are refused with TRY_AGAIN, a cmap call waits and is served when it lifts', async () => {
      await using sender = await CpgHandle.initialize(null, { ipcPrefix: mock.prefix, retry: { retries: 1, initialDelay: 1 } });
      await using h = await CmapHandle.initialize({ ipcPrefix: mock.prefix });
      await sender.join('fc');
      const fc = mock.faults.flowControl({ level: 2 });
      await expect(sender.mcastJoined(2, new Uint8Array(8))).rejects.toSatisfy((e) => isCsError(e, CS_ERR_TRY_AGAIN));
      let name: string | undefined;
      const pending = h.getString('totem.cluster_name').then((v) => { name = v; });
      await new Promise((r) => setTimeout(r, 20));
      expect(name).toBeUndefined();
      fc.remove();
      await pending;
      expect(name).toBeTypeOf('string');
      await sender.mcastJoined(2, new Uint8Array(8));
    });

    it('a large message: a fragment answered TRY_AGAIN ends the call, `retry` sends the whole message again and it arrives once, whole; a sender killed before its last fragment never delivers half of one', async () => {
      const delivered: CpgDeliver[] = [];
      const confchgs: CpgConfchg[] = [];
      await using member = await CpgHandle.initialize({ deliverFn: (d) => delivered.push({ ...d, msg: d.msg.slice() }), confchgFn: (c) => confchgs.push(c) }, { ipcPrefix: mock.prefix });
      await using sender = await CpgHandle.initialize(null, { ipcPrefix: mock.endpoint(2).prefix });
      await member.join('big');
      await sender.join('big');
      const waitFor = async (what: string, ok: () => boolean) => {
        for (let i = 0; !ok(); i++) {
          if (i > 10_000) throw new Error(`never: ${what}`);
          await new Promise((r) => setTimeout(r, 1));
        }
      };
      await waitFor('both joined', () => confchgs.length === 2);
      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i & 0xff);
      // a middle fragment answered TRY_AGAIN: without retry the call fails there
      const refused = mock.faults.inject({ call: 'cpg.partialMcast', node: 2, when: (r) => r.fields?.type === 2, error: CS_ERR_TRY_AGAIN, times: 3 });
      await expect(sender.mcastJoined(2, big)).rejects.toSatisfy((e) => isCsError(e, CS_ERR_TRY_AGAIN));
      expect(refused.hits).toBe(1);
      // with it, the message goes from its first fragment again each time
      await sender.mcastJoined(2, big, { retry: { initialDelay: 1 } });
      await waitFor('the message', () => delivered.length === 1);
      expect(refused.hits).toBe(3);
      expect(Buffer.from(delivered[0]!.msg).equals(Buffer.from(big))).toBe(true);
      mock.faults.inject({ call: 'cpg.partialMcast', node: 2, when: (r) => r.fields?.type === 3, killNode: true });
      await expect(sender.mcastJoined(2, big)).rejects.toSatisfy((e) => isCsError(e));
      await waitFor('NODEDOWN', () => confchgs.length === 3);
      expect(confchgs[2]!.leftList).toEqual([{ nodeid: 2, pid: process.pid, reason: 3 }]);
      // nothing more arrives, and the member's handle serves on
      await member.membershipGet('big');
      expect(delivered).toHaveLength(1);
    });

    it('a 1 MiB message refused midway: its first fragment stays sent but is never delivered; sent again, it arrives once, whole', async () => {
      const delivered: CpgDeliver[] = [];
      const confchgs: CpgConfchg[] = [];
      await using member = await CpgHandle.initialize({ deliverFn: (d) => delivered.push({ ...d, msg: d.msg.slice() }), confchgFn: (c) => confchgs.push(c) }, { ipcPrefix: mock.prefix });
      await using sender = await CpgHandle.initialize(null, { ipcPrefix: mock.endpoint(2).prefix });
      await member.join('mid');
      await sender.join('mid');
      for (let i = 0; confchgs.length < 2; i++) {
        if (i > 10_000) throw new Error('never joined');
        await new Promise((r) => setTimeout(r, 1));
      }
      // 1,047,552 + 1,024 bytes: the LAST fragment answered TRY_AGAIN ends the call, as in libcpg
      const first = new Uint8Array(1024 * 1024).fill(1);
      const last = mock.faults.inject({ call: 'cpg.partialMcast', node: 2, when: (r) => r.fields?.type === 3, error: CS_ERR_TRY_AGAIN, times: 1 });
      await expect(sender.mcastJoined(2, first)).rejects.toSatisfy((e) => isCsError(e, CS_ERR_TRY_AGAIN));
      expect(last.hits).toBe(1);
      // the caller sends the message again, as around libcpg's TRY_AGAIN: its FIRST fragment
      // replaces the half the member holds, which is never delivered
      const again = new Uint8Array(1024 * 1024).map((_, i) => i & 0xff);
      await sender.mcastJoined(2, again);
      await sender.mcastJoined(2, 'after');
      for (let i = 0; delivered.length < 2; i++) {
        if (i > 10_000) throw new Error('never delivered');
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(delivered.map((d) => d.msg.length)).toEqual([1024 * 1024, 5]);
      expect(Buffer.from(delivered[0]!.msg).equals(Buffer.from(again))).toBe(true);
    });
  });
}
