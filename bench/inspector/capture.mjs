// The bench's 1M-frame capture: a busy cluster's traffic as the recorders write it (pid and proc
// on every line): 50 clients polling quorum, and quorum notifications; t grows 20 µs per frame.
import { closeSync, openSync, writeSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { encoders, toHex } from '@corosync-ts/codec-wasm';

/** Writes `frames` frames to path (gz: a gzip member per 64 KiB of lines); returns the file's size. */
export function writeCapture(path, frames, gz = false) {
  const getq = toHex(encoders.quorum.req.getquorate({}));
  const getqRes = toHex(encoders.quorum.res.getquorate({ quorate: 1 }));
  const note = toHex(encoders.quorum.evt.notification({ quorate: 1, ringSeq: 15n, viewList: [1, 2, 3] }));
  const tryAgain = toHex(encoders.quorum.res.getquorate({ quorate: 0 }, { error: 6 }));
  const header = JSON.stringify({ corosyncCapture: 1, start: { unixNs: '1764774000000000000', iso: '2025-12-03T15:00:00.000Z' }, host: 'bench', recorder: { mode: 'tap', name: 'bench', version: '0' } });
  const fd = openSync(path, 'w');
  let chunk = [header + '\n'];
  let size = 0;
  const flush = () => {
    const text = chunk.join('');
    const data = gz ? gzipSync(text) : Buffer.from(text);
    writeSync(fd, data);
    size += data.length;
    chunk = [];
  };
  flush(); // the header alone, as the writers do
  let pending = 0;
  for (let i = 0; i < frames; i++) {
    const conn = 1 + (i % 50);
    const base = `{"t":${i * 20000},"conn":${conn},"pid":${4000 + conn},"proc":"client-${conn}","service":"quorum","transport":"shm",`;
    const k = Math.floor(i / 50) % 10;
    let line;
    if (k === 9) line = `${base}"dir":"evt","hex":"${note}"}\n`;
    else if (k % 2 === 0) line = `${base}"dir":"req","hex":"${getq}"}\n`;
    else line = `${base}"dir":"res","hex":"${i % 997 === 0 ? tryAgain : getqRes}"}\n`;
    chunk.push(line);
    pending += line.length;
    if (pending >= 65536) {
      flush();
      pending = 0;
    }
  }
  flush();
  closeSync(fd);
  return size;
}
