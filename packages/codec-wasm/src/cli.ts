/// <reference types="node" />
// corosync-decode: the CLI of the codec (Node only; the library itself never imports this file).
import { createReadStream, readFileSync } from 'node:fs';
import { Readable, pipeline, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { CaptureFormatError } from './capture.js';
import { CAPTURE_MAX_LINE, Ending, parseCaptureHeader, recordFromObject } from './capture.js';
import { decode, findMessage } from './codec.js';
import { isDecodeError } from './errors.js';
import { decodedToJSON, fromHex } from './json.js';
import type { Direction, Service } from './types.js';

const USAGE = `usage: corosync-decode [FILE]                     JSON Lines {"service","dir","hex"} or a capture file, from FILE or stdin
       corosync-decode --service S --dir D HEX        one raw message
       corosync-decode --version                      the package version
  S: cmap | quorum | votequorum | cpg | cfg (not needed for --dir setup)
  D: req | res | evt | setup
Input may be gzip compressed (told by its magic bytes). A capture (format v1, first line
{"corosyncCapture":1,...}) is checked line by line; its header, connection-state and end lines
are not printed, and each frame prints with its "t" and "conn" first. A capture without an end
line (cut off) or whose end line counts other frames than were read says so on stderr.
Prints one JSON object per frame line: {name, id, size, error, fields} or {"error": {kind, message}}.
Blank lines are skipped; a line longer than 16 MiB is skipped unread and prints
{"error": {"kind": "lineTooLong", ...}}. Exit status: 0 all lines decoded, 1 some line failed,
2 usage error or a capture header this version cannot read. A closed output (| head) ends the
run quietly with the status of the lines decoded so far.`;

/** The longest line read, in bytes: the capture reader's limit (a frame of 8 MiB as hex). */
const MAX_LINE = CAPTURE_MAX_LINE;

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

type LineResult = { ok: true; json: string } | { ok: false; json: string };

function errorLine(kind: string, message: string, extra: Record<string, unknown> = {}): LineResult {
  return { ok: false, json: JSON.stringify({ error: { kind, message, ...extra } }) };
}

function decodeOne(service: unknown, dir: unknown, hex: unknown): LineResult {
  if (typeof hex !== 'string') return errorLine('badInput', '"hex" must be a string');
  const bytes = fromHex(hex);
  if (!bytes) return errorLine('badHex', 'not an even-length hex string');
  try {
    const d = decode(bytes, { service: service as Service, dir: dir as Direction });
    const json = decodedToJSON(d);
    // stack garbage where corosync never sets it (cpg's deliveries): not a result to print
    if (findMessage(d.name, d.dir)?.errorUnset) delete json.error;
    return { ok: true, json: JSON.stringify(json) };
  } catch (e) {
    if (isDecodeError(e)) {
      return errorLine(e.kind, e.message, { messageName: e.messageName, field: e.field, offset: e.offset });
    }
    return errorLine('internal', e instanceof Error ? e.message : String(e));
  }
}

/**
 * One JSON Lines input line -> one output line, or null for a capture's connection-state or end
 * line. Never throws. Lines with a "conn", and every line of a capture, are capture lines and are
 * checked against the format first; in a capture (`ending` given) the end line is read into
 * `ending`, which counts the frames.
 */
export function decodeLine(line: string, lineNo = 0, ending?: Ending): LineResult | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return errorLine('badJson', e instanceof Error ? e.message : 'invalid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return errorLine('badInput', 'each line must be a JSON object');
  const o = v as Record<string, unknown>;
  const after = ending?.after(lineNo);
  if (after) return errorLine('badCapture', after.message);
  // in a capture every line is a capture line: the reader refuses one without "conn", and its end line would count it lost
  if (o.conn === undefined && !ending) return decodeOne(o.service, o.dir, o.hex);
  let rec;
  try {
    rec = ending ? ending.read(o, lineNo) : recordFromObject(o, lineNo);
  } catch (e) {
    const fe = e as CaptureFormatError;
    return errorLine('badCapture', fe.message, { field: fe.field });
  }
  if (rec === undefined || rec.kind === 'state') return null;
  const r = decodeOne(rec.service, rec.dir, rec.hex);
  return { ok: r.ok, json: `{"t":${rec.t},"conn":${rec.conn},${r.json.slice(1)}` };
}

/**
 * The input's lines (without \n or \r\n), or the length of a line longer than `max`, which is
 * skipped to its end without being held: a gzip bomb of zeros, or a file that is not JSON
 * Lines, must not grow a string past V8's limit.
 */
export async function* linesOf(input: AsyncIterable<Buffer | string>, max = MAX_LINE): AsyncGenerator<string | { tooLong: number }> {
  let parts: Buffer[] = [];
  let size = 0;
  let skip = -1;
  const text = (b: Buffer): string => b.toString('utf8', 0, b.length > 0 && b[b.length - 1] === 0x0d ? b.length - 1 : b.length);
  for await (const c of input) {
    let chunk = typeof c === 'string' ? Buffer.from(c) : c;
    for (;;) {
      const nl = chunk.indexOf(0x0a);
      if (skip >= 0) {
        if (nl < 0) {
          skip += chunk.length;
          break;
        }
        yield { tooLong: skip + nl };
        skip = -1;
      } else if (nl < 0 || size + nl > max) {
        if (size + (nl < 0 ? chunk.length : nl) > max) {
          parts = [];
          skip = size;
          size = 0;
          continue;
        }
        parts.push(chunk);
        size += chunk.length;
        break;
      } else {
        yield text(parts.length === 0 ? chunk.subarray(0, nl) : Buffer.concat([...parts, chunk.subarray(0, nl)]));
        parts = [];
        size = 0;
      }
      chunk = chunk.subarray(nl + 1);
    }
  }
  if (skip >= 0) yield { tooLong: skip };
  else if (size > 0) yield text(Buffer.concat(parts));
}

/** The input as bytes, gunzipped when it starts with the gzip magic. */
async function plainBytes(input: Readable): Promise<Readable> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let headLen = 0;
  let done = false;
  while (headLen < 2) {
    const n = await it.next();
    if (n.done) {
      done = true;
      break;
    }
    const b = typeof n.value === 'string' ? Buffer.from(n.value) : n.value;
    head.push(b);
    headLen += b.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* head;
    if (done) return;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield typeof n.value === 'string' ? Buffer.from(n.value) : n.value;
    }
  }
  const first = Buffer.concat(head);
  const raw = Readable.from(all(), { objectMode: false });
  // node:zlib reads every member of a multi-member file.
  if (first[0] !== 0x1f || first[1] !== 0x8b) return raw;
  const gunzip = createGunzip();
  // pipeline() passes a read error on to the gunzip stream, where readline sees it.
  pipeline(raw, gunzip, () => {});
  return gunzip;
}

/** The version of the installed package (dist/ and src/ both sit one level below its root). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function parseArgs(argv: string[]): { service?: string; dir?: string; positional: string[]; help: boolean; version?: boolean } | string {
  const out: { service?: string; dir?: string; positional: string[]; help: boolean; version?: boolean } = { positional: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') out.help = true;
    else if (a === '-V' || a === '--version') out.version = true;
    else if (a === '--service' || a === '--dir') {
      const v = argv[++i];
      if (v === undefined) return `${a} needs a value`;
      if (a === '--service') out.service = v;
      else out.dir = v;
    } else if (a.startsWith('--service=')) out.service = a.slice(10);
    else if (a.startsWith('--dir=')) out.dir = a.slice(6);
    else if (a.startsWith('-') && a !== '-') return `unknown option ${a}`;
    else out.positional.push(a);
  }
  return out;
}

export async function main(argv: string[], io: CliIo = process): Promise<number> {
  // A reader that goes away (`corosync-decode f | head`) closes the pipe, and the next write
  // fails with EPIPE: decoding stops there, quietly, as cat's would, where an 'error' event
  // nobody listens to would end the process with a stack trace. The listener stays: a write's
  // error comes a tick after it, possibly after main() has returned.
  let outError: Error | undefined;
  let wake: (() => void) | undefined;
  io.stdout.on('error', (e: Error) => {
    outError ??= e;
    wake?.();
  });
  const put = async (text: string): Promise<void> => {
    if (outError || io.stdout.write(text)) return;
    // (an error emitted by write() itself: no 'drain' would come)
    if (outError) return;
    await new Promise<void>((res) => {
      wake = res;
      io.stdout.once('drain', res);
    });
    io.stdout.off('drain', wake!);
    wake = undefined;
  };
  const args = parseArgs(argv);
  if (typeof args !== 'string' && args.version && !args.help) {
    io.stdout.write(`corosync-decode ${version()}\n`);
    return 0;
  }
  if (typeof args === 'string' || args.help) {
    (typeof args === 'string' ? io.stderr : io.stdout).write(`${typeof args === 'string' ? `corosync-decode: ${args}\n` : ''}${USAGE}\n`);
    return typeof args === 'string' ? 2 : 0;
  }
  if (args.dir !== undefined || args.service !== undefined) {
    if (args.dir === undefined || args.positional.length !== 1) {
      io.stderr.write(`corosync-decode: --service/--dir take exactly one HEX argument and need --dir\n${USAGE}\n`);
      return 2;
    }
    const r = decodeOne(args.service, args.dir, args.positional[0]);
    io.stdout.write(`${r.json}\n`);
    return r.ok ? 0 : 1;
  }
  if (args.positional.length > 1) {
    io.stderr.write(`corosync-decode: at most one FILE\n${USAGE}\n`);
    return 2;
  }
  const file = args.positional[0];
  let input: Readable;
  if (file === undefined || file === '-') {
    input = io.stdin;
  } else {
    input = createReadStream(file);
  }
  let failed = false;
  let lineNo = 0;
  let sawLine = false;
  let ending: Ending | undefined;
  try {
    for await (const line of linesOf(await plainBytes(input))) {
      lineNo++;
      if (typeof line !== 'string') {
        failed = true;
        const r = errorLine('lineTooLong', `line ${lineNo} is ${line.tooLong} bytes long, more than ${MAX_LINE} bytes: skipped`);
        await put(`${r.json}\n`);
        if (outError) break;
        continue;
      }
      if (line.trim() === '') continue;
      if (!sawLine) {
        sawLine = true;
        if (line.includes('"corosyncCapture"')) {
          try {
            parseCaptureHeader(line, lineNo);
          } catch (e) {
            io.stderr.write(`corosync-decode: ${e instanceof Error ? e.message : String(e)}\n`);
            return 2;
          }
          ending = new Ending();
          continue;
        }
      }
      const r = decodeLine(line, lineNo, ending);
      if (r === null) continue;
      if (!r.ok) failed = true;
      await put(`${r.json}\n`);
      if (outError) break;
    }
  } catch (e) {
    io.stderr.write(`corosync-decode: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  if (outError) {
    if ((outError as NodeJS.ErrnoException).code === 'EPIPE') return failed ? 1 : 0;
    io.stderr.write(`corosync-decode: writing the output: ${outError.message}\n`);
    return 2;
  }
  // A cut-off capture still decodes: a note, not a failure.
  const note = ending && endNote(ending, lineNo);
  if (note) io.stderr.write(`corosync-decode: ${note}\n`);
  return failed ? 1 : 0;
}

/** Why a capture did not end cleanly, or undefined when it did. */
function endNote(t: Ending, lines: number): string | undefined {
  if (t.end === undefined) return `no end line after line ${lines}: the recording was cut off (recorder killed, a write failed such as on a full disk, or still writing); last line at t=${t.lastT} ns`;
  if (t.end.frames === t.frames) return undefined;
  const lost = t.end.frames - t.frames;
  return `the end line (line ${t.endLine}) counts ${t.end.frames} frames, ${t.frames} were read${lost > 0 ? `: ${lost} lost` : ''}`;
}
