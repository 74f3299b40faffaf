// How a capture's recording ended, for the status line: the span its end line gives, or that it
// has none (cut off) or lost lines. Its own file: the page's other files are changing under
// other work, and this is one status phrase.
import type { Capture } from './model.js';
import { fmtTime } from './timeline.js';

/**
 * The instant `t` ns after the capture's start, from its start's unixNs: the header's and end
 * line's iso strings are for people reading the file, and a hand-made file's need not agree.
 */
export const instant = (c: Capture, t: number): string => new Date(Number(BigInt(c.header.start.unixNs) / 1_000_000n) + t / 1e6).toISOString();

/** "recorded <start> – <end> (<duration>), complete", or why the capture is not whole (`warn`). */
export function recordedText(c: Capture): { text: string; warn: boolean } {
  const s = c.scan;
  const start = instant(c, 0);
  const last = s?.lastT ?? 0;
  if (!s?.end) {
    return { text: `started ${start} — no end line: the recording was cut off (recorder killed, a write failed such as on a full disk, or still writing); last line at ${instant(c, last)} (${fmtTime(last)} in)`, warn: true };
  }
  const e = s.end;
  const span = `recorded ${start} – ${instant(c, e.t)} (${fmtTime(e.t)})${e.by === 'signal' ? `, stopped by ${e.signal}` : ''}`;
  if (last > e.t) return { text: `${span} — the end line is before the last line (${fmtTime(last)} in): it does not say when the recording ended`, warn: true };
  const lost = e.frames - (s.frames ?? 0);
  const dropped = e.dropped ? `, the recorder dropped ${e.dropped.toLocaleString('en')} frames` : '';
  if (lost === 0) return { text: `${span}, complete${dropped}`, warn: false };
  return { text: `${span} — lines were lost: the end line counts ${e.frames.toLocaleString('en')} frames, ${(s.frames ?? 0).toLocaleString('en')} were read${dropped}`, warn: true };
}
