// mergeCaptures(): several captures on one time axis, each file's connections its own.
import { encoders, toHex } from '@corosync-ts/codec-wasm';
import { describe, expect, it } from 'vitest';
import { MergeError, mergeCaptures } from '../src/merge.js';
import { CaptureBuilder, connName, type Capture } from '../src/model.js';

const GET = toHex(encoders.cmap.req.get({ keyName: 'a', valueLen: 8n }));
const OK = toHex(encoders.cmap.res.get({ valueLen: 4n, type: 11, value: new TextEncoder().encode('ok\0\0') }));

function capture(unixNs: string, mode: string, lines: object[]): Capture {
  const header = { corosyncCapture: 1, start: { unixNs, iso: 'x' }, host: mode, recorder: { mode, name: mode, version: '0' } };
  const b = new CaptureBuilder();
  b.add(new TextEncoder().encode([header, ...lines].map((l) => JSON.stringify(l)).join('\n') + '\n'));
  return b.cap!;
}

const on = (conn: number, service = 'cmap') => ({ conn, pid: conn, proc: `p${conn}`, service, transport: 'shm' });

describe('mergeCaptures', () => {
  it('rows in time order on the earliest start, each file in its own order; pairs, marks and decode errors follow their rows', () => {
    // b starts 1 ms after a: its t 0 is a's 1_000_000
    const a = capture('1000000000000000000', 'mock', [
      { t: 0, ...on(1), dir: 'req', hex: GET },
      { t: 500_000, ...on(1), state: 'dropped', lines: 1 },
      { t: 1_500_000, ...on(1), dir: 'res', hex: OK },
      { t: 3_000_000, ...on(1), dir: 'req', hex: GET.slice(0, 40) },
    ]);
    const b = capture('1000000000001000000', 'client', [
      { t: 0, ...on(1), dir: 'req', hex: GET },
      { t: 1_000_000, ...on(1), dir: 'res', hex: OK },
    ]);
    const c = mergeCaptures([{ name: 'a.jsonl', cap: a }, { name: 'b.jsonl.gz', cap: b }]);
    expect(Array.from(c.t)).toEqual([0, 1_000_000, 1_500_000, 2_000_000, 3_000_000]);
    expect(Array.from(c.file!)).toEqual([0, 1, 0, 1, 0]);
    // a's request lost its answer to the drop; b's request pairs with b's answer, not a's
    expect(Array.from(c.pair)).toEqual([-1, 3, -1, 1, -1]);
    expect(c.marks.map((m) => ({ t: m.t, conn: m.conn, at: m.at }))).toEqual([{ t: 500_000, conn: 1, at: 2 }]); // before a's answer, merged row 2
    expect([...c.decodeErrors.keys()]).toEqual([4]);
    expect(c.header.host).toBe('mock');
    expect(c.files!.map((f) => `${f.tag} ${f.name} ${f.header.recorder.mode}`)).toEqual(['A a.jsonl mock', 'B b.jsonl.gz client']);
    // the same id in both files: two connections, named by file
    expect([...c.conns.values()].map((ci) => [ci.conn, connName(ci), ci.first])).toEqual([[1, 'A:1', 0], [2, 'B:1', 1_000_000]]);
    expect(Array.from(c.conn)).toEqual([1, 2, 1, 2, 1]);
    expect(new TextDecoder().decode(c.bytes.subarray(c.off[3]!, c.off[3]! + 4))).toBe(new TextDecoder().decode(b.bytes.subarray(b.off[1]!, b.off[1]! + 4)));
  });

  it("a hostile file's connection ids (2^31 - 1, and the other file's) and made-up services neither meet nor crowd out another file's", () => {
    const made = Array.from({ length: 255 }, (_, k) => ({ t: k + 10, ...on(2 ** 31 - 1, `made-up-${k}`), dir: 'req', hex: GET }));
    const hostile = capture('1000000000000000000', 'tap', [{ t: 1, ...on(1), dir: 'req', hex: GET }, ...made, { t: 9999, ...on(2 ** 31 - 1), dir: 'res', hex: OK }]);
    const good = capture('1000000000000000000', 'mock', [
      { t: 2, ...on(1, 'quorum'), dir: 'req', hex: GET },
      { t: 3, ...on(2 ** 31 - 1, 'votequorum'), dir: 'req', hex: GET },
    ]);
    const c = mergeCaptures([{ name: 'evil', cap: hostile }, { name: 'good', cap: good }]);
    expect(c.conns.size).toBe(4);
    expect(c.services.length).toBeLessThanOrEqual(256);
    const goodRows = [...c.file!.keys()].filter((i) => c.file![i] === 1);
    expect(goodRows.map((i) => [connName(c.conns.get(c.conn[i]!)!), c.services[c.svc[i]!]])).toEqual([['B:1', 'quorum'], ['B:2147483647', 'votequorum']]);
    // the evil file's cmap answer pairs with nothing of the good file's
    expect(c.pair.filter((p, i) => p >= 0 && c.file![p] !== c.file![i])).toHaveLength(0);
  });

  it('captures whose starts are more than 104 days apart (decades, or a start of 20 nines) are refused with the span: one axis of doubles would round their latencies', () => {
    const pair = (unixNs: string) => capture(unixNs, 'mock', [{ t: 1, ...on(1), dir: 'req', hex: GET }, { t: 1000, ...on(1), dir: 'res', hex: OK }]);
    // 30 years apart: at 1e18 ns a double steps by 128 ns, the later file's 999 ns answer became 1024
    expect(() => mergeCaptures([{ name: '1995.jsonl', cap: pair('817000000000000000') }, { name: '2025.jsonl', cap: pair('1764774000000000000') }])).toThrow(
      new MergeError('2025.jsonl ends 10969 days after 1995.jsonl: one time axis is exact to the nanosecond over 104 days at most; open them separately'),
    );
    expect(() => mergeCaptures([{ name: 'nines', cap: pair('99999999999999999999') }, { name: 'zero', cap: pair('0') }])).toThrow(MergeError);
    // 104 days apart is still exact
    const near = mergeCaptures([{ name: 'a', cap: pair('1000000000000000000') }, { name: 'b', cap: pair(String(1000000000000000000n + 104n * 86_400_000_000_000n)) }]);
    expect(near.t[3]! - near.t[2]!).toBe(999);
  });
});
