// The capture loader's worker (a classic worker started from a blob: URL, see main.ts): it runs
// the line split, the gzip inflate, the decoding and the pairing, and posts each piece's rows
// as transferable column slices, so the page's thread only appends them and redraws.
import { isCaptureFormatError } from '@corosync-ts/codec-wasm';
import { CaptureBuilder, linePieces, pieceOf, type LoadMessage } from './model.js';

const post = (m: LoadMessage, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

self.onmessage = async (e: MessageEvent<{ source: ReadableStream<Uint8Array> | Uint8Array; label: string }>) => {
  const { source, label } = e.data;
  const builder = new CaptureBuilder();
  const timing = { inflate: 0 };
  const sent = { rows: 0, bytes: 0, marks: 0, bad: 0 };
  try {
    const send = (): void => {
      builder.cap!.timing.inflate = timing.inflate;
      const p = pieceOf(builder.cap!, builder.bytesUsed, sent);
      post(p, transferablesOf(p));
    };
    for await (const piece of linePieces(source, timing)) {
      builder.add(piece);
      send();
    }
    if (!builder.cap) {
      builder.add(new Uint8Array(0)); // no header: the reader's own error
      send();
    }
    post({ kind: 'done' });
  } catch (err) {
    post({ kind: 'error', message: isCaptureFormatError(err) ? `not a readable capture: ${err.message}` : `cannot open ${label}: ${err instanceof Error ? err.message : String(err)}` });
  }
};

function transferablesOf(p: LoadMessage): Transferable[] {
  if (p.kind !== 'piece') return [];
  return [p.t, p.conn, p.dir, p.svc, p.off, p.len, p.msg, p.err, p.id, p.pair, p.retry, p.bytes, p.pairs].map((a) => a.buffer as ArrayBuffer);
}
