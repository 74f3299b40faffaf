// recordedText(): the status line's phrase for how a capture's recording ended.
import type { CaptureEnd } from '@corosync-ts/codec-wasm';
import { describe, expect, it } from 'vitest';
import { recordedText } from '../src/ending.js';
import type { Capture } from '../src/model.js';

const start = { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' };
const capture = (end: CaptureEnd, frames: number) =>
  ({ header: { corosyncCapture: 1, start: { ...start }, host: 'n', recorder: { mode: 'client', name: 'c', version: '1' } }, scan: { end, frames, lastT: end.t } }) as unknown as Capture;
const end = (by: CaptureEnd['by'], signal?: string): CaptureEnd => ({ end: { unixNs: '1764774002000000000', iso: '2025-12-03T15:00:02.000Z' }, t: 2e9, frames: 4, dropped: 0, by, ...(signal ? { signal } : {}) });

describe('recordedText', () => {
  it('says a recording ended by a signal was stopped by it, complete or not', () => {
    expect(recordedText(capture(end('signal', 'SIGTERM'), 4))).toEqual({ text: 'recorded 2025-12-03T15:00:00.000Z – 2025-12-03T15:00:02.000Z (2.000 s), stopped by SIGTERM, complete', warn: false });
    expect(recordedText(capture(end('signal', 'SIGINT'), 3)).text).toMatch(/\(2\.000 s\), stopped by SIGINT — lines were lost: /);
  });

  it('says nothing of how a recording closed or flushed at exit ended', () => {
    for (const by of ['close', 'exit'] as const) expect(recordedText(capture(end(by), 4)).text).toBe('recorded 2025-12-03T15:00:00.000Z – 2025-12-03T15:00:02.000Z (2.000 s), complete');
  });

  it("tells the instants from the numbers, not from a hand-made file's iso strings; an end before the file's last line is a warning", () => {
    const c = capture({ ...end('close'), end: { unixNs: '1', iso: '<b>2031</b>' } }, 4);
    c.header.start.iso = '2026-12-03T15:00:00.000Z';
    expect(recordedText(c)).toEqual({ text: 'recorded 2025-12-03T15:00:00.000Z – 2025-12-03T15:00:02.000Z (2.000 s), complete', warn: false });
    const cut = capture(end('close'), 4);
    cut.header.start.iso = 'x';
    delete cut.scan!.end;
    expect(recordedText(cut).text).toMatch(/^started 2025-12-03T15:00:00\.000Z — no end line: /);
    const early = capture({ ...end('close'), t: 5 }, 4);
    early.scan!.lastT = 1e9;
    expect(recordedText(early)).toEqual({ text: 'recorded 2025-12-03T15:00:00.000Z – 2025-12-03T15:00:00.000Z (5 ns) — the end line is before the last line (1.000 s in): it does not say when the recording ended', warn: true });
  });
});
