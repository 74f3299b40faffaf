// recordedText(): the status line's phrase for how a capture's recording ended.
import type { CaptureEnd } from '@corosync-ts/codec-wasm';
import { describe, expect, it } from 'vitest';
import { recordedText } from '../src/ending.js';
import type { Capture } from '../src/model.js';

const start = { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' };
const capture = (end: CaptureEnd, frames: number) =>
  ({ header: { corosyncCapture: 1, start, host: 'n', recorder: { mode: 'client', name: 'c', version: '1' } }, scan: { end, frames, lastT: end.t } }) as unknown as Capture;
const end = (by: CaptureEnd['by'], signal?: string): CaptureEnd => ({ end: { unixNs: '1764774002000000000', iso: '2025-12-03T15:00:02.000Z' }, t: 2e9, frames: 4, dropped: 0, by, ...(signal ? { signal } : {}) });

describe('recordedText', () => {
  it('says a recording ended by a signal was stopped by it, complete or not', () => {
    expect(recordedText(capture(end('signal', 'SIGTERM'), 4))).toEqual({ text: 'recorded 2025-12-03T15:00:00.000Z – 2025-12-03T15:00:02.000Z (2.000 s), stopped by SIGTERM, complete', warn: false });
    expect(recordedText(capture(end('signal', 'SIGINT'), 3)).text).toMatch(/\(2\.000 s\), stopped by SIGINT — lines were lost: /);
  });

  it('says nothing of how a recording closed or flushed at exit ended', () => {
    for (const by of ['close', 'exit'] as const) expect(recordedText(capture(end(by), 4)).text).toBe('recorded 2025-12-03T15:00:00.000Z – 2025-12-03T15:00:02.000Z (2.000 s), complete');
  });
});
