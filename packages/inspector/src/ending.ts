// How a capture's recording ended, for the status line: the span its end line gives, or that it
// has none (cut off) or lost lines. Its own file: the page's other files are changing under
// other work, and this is one status phrase.
import type { Capture } from './model.js';
import { fmtTime } from './timeline.js';

/** "recorded <start> – <end> (<duration>), complete", or why the capture is not whole (`warn`). */
export function recordedText(c: Capture): { text: string; warn: boolean } {
  const s = c.scan;
  const start = c.header.start.iso;
  if (!s?.end) {
    const last = s?.lastT ?? 0;
    const at = new Date(Number(BigInt(c.header.start.unixNs) / 1_000_000n) + last / 1e6).toISOString();
    return { text: `started ${start} — no end line: the recording was cut off (recorder killed, a write failed such as on a full disk, or still writing); last line at ${at} (${fmtTime(last)} in)`, warn: true };
  }
  const e = s.end;
  const lost = e.frames - (s.frames ?? 0);
  const dropped = e.dropped ? `, the recorder dropped ${e.dropped.toLocaleString('en')} frames` : '';
  const span = `recorded ${start} – ${e.end.iso} (${fmtTime(e.t)})${e.by === 'signal' ? `, stopped by ${e.signal}` : ''}`;
  if (lost === 0) return { text: `${span}, complete${dropped}`, warn: false };
  return { text: `${span} — lines were lost: the end line counts ${e.frames.toLocaleString('en')} frames, ${(s.frames ?? 0).toLocaleString('en')} were read${dropped}`, warn: true };
}
