// The capture loader's worker (a classic worker started from a blob: URL, see main.ts): it runs
// the line split, the gzip inflate, the decoding and the pairing, and posts each piece's rows
// as transferable column slices, so the page's thread only appends them and redraws.
import { DIR_CODES, SERVICE_CODES, codec, isCaptureFormatError } from '@corosync-ts/codec-wasm';
import { CaptureBuilder, FIRST_PIECE, linePieces, pieceOf, type LoadMessage } from './model.js';

const post = (m: LoadMessage, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

// The page starts this worker before any capture is opened: compiling the codec now, with room
// for the first piece's frames, keeps that work out of the time to the first table. A failure
// here is the first load's error (an error event now would reach no listener).
let bootError: unknown;
try {
  codec.inputBuffer(FIRST_PIECE >> 1).fill(0, 0, 24);
  // one frame through the decoder: the browser compiles WASM functions on their first call
  codec.decodeAt(0, 24, SERVICE_CODES.cmap, DIR_CODES.req);
} catch (e) {
  bootError = e;
}
post({ kind: 'ready' });

// The page says 'drawn' once its first table is on screen.
let firstDrawn: (() => void) | undefined;
self.onmessage = (e: MessageEvent<{ source: ReadableStream<Uint8Array> | Blob; label: string } | 'drawn'>) => {
  if (e.data === 'drawn') firstDrawn?.();
  else void load(e.data.source, e.data.label);
};

/** Loads a file (read here) or a fetch's body (transferred). */
async function load(source: ReadableStream<Uint8Array> | Blob, label: string): Promise<void> {
  const builder = new CaptureBuilder();
  const timing: { inflate: number; cut?: string } = { inflate: 0 };
  const sent = { rows: 0, bytes: 0, marks: 0, bad: 0 };
  try {
    if (bootError !== undefined) throw bootError;
    const send = (): void => {
      builder.cap!.timing.inflate = timing.inflate;
      const p = pieceOf(builder.cap!, builder.bytesUsed, sent, builder.touched);
      post(p, transferablesOf(p));
    };
    let first = true;
    for await (const piece of linePieces(source instanceof Blob ? (source.stream() as ReadableStream<Uint8Array>) : source, timing)) {
      builder.take(piece);
      send();
      // The rest waits until the first table is painted: this thread parsing on would take the
      // CPU the page needs to draw it, on a busy machine.
      if (first) await new Promise<void>((r) => (firstDrawn = r));
      first = false;
    }
    if (!builder.cap) {
      if (timing.cut !== undefined) throw new Error(timing.cut);
      builder.add(new Uint8Array(0)); // no header: the reader's own error
      send();
    }
    post({ kind: 'done', cut: timing.cut });
  } catch (err) {
    post({ kind: 'error', message: isCaptureFormatError(err) ? `not a readable capture: ${err.message}` : `cannot open ${label}: ${err instanceof Error ? err.message : String(err)}` });
  }
}

function transferablesOf(p: LoadMessage): Transferable[] {
  if (p.kind !== 'piece') return [];
  return [p.t, p.conn, p.dir, p.svc, p.off, p.len, p.msg, p.err, p.id, p.pair, p.retry, p.bytes, p.pairs].map((a) => a.buffer as ArrayBuffer);
}
