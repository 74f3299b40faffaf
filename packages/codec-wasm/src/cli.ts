/// <reference types="node" />
// corosync-decode: the CLI of the codec (Node only; the library itself never imports this file).
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, pipeline, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { CaptureFormatError} from './capture.js';
import { parseCaptureHeader, recordFromObject } from './capture.js';
import { decode } from './codec.js';
import { isDecodeError } from './errors.js';
import { decodedToJSON, fromHex } from './json.js';
import type { Direction, Service } from './types.js';

const USAGE = `usage: corosync-decode [FILE]                     JSON Lines {"service","dir","hex"} or a capture file, from FILE or stdin
       corosync-decode --service S --dir D HEX        one raw message
       corosync-decode --version                      the package version
  S: cmap | quorum | votequorum | cfg (not needed for --dir setup)
  D: req | res | evt | setup
Input may be gzip compressed (told by its magic bytes). A capture (format v1, first line
{"corosyncCapture":1,...}) is checked line by line; its header and connection-state lines are
not printed, and each frame prints with its "t" and "conn" first.
Prints one JSON object per frame line: {name, id, size, error, fields} or {"error": {kind, message}}.
Blank lines are skipped. Exit status: 0 all lines decoded, 1 some line failed, 2 usage error
or a capture header this version cannot read.`;

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
    return { ok: true, json: JSON.stringify(decodedToJSON(d)) };
  } catch (e) {
    if (isDecodeError(e)) {
      return errorLine(e.kind, e.message, { messageName: e.messageName, field: e.field, offset: e.offset });
    }
    return errorLine('internal', e instanceof Error ? e.message : String(e));
  }
}

/**
 * One JSON Lines input line -> one output line, or null for a capture's connection-state line.
 * Never throws. Lines with a "conn" are capture lines and are checked against the format first.
 */
export function decodeLine(line: string, lineNo = 0): LineResult | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return errorLine('badJson', e instanceof Error ? e.message : 'invalid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return errorLine('badInput', 'each line must be a JSON object');
  const o = v as Record<string, unknown>;
  if (o.conn === undefined) return decodeOne(o.service, o.dir, o.hex);
  let rec;
  try {
    rec = recordFromObject(o, lineNo);
  } catch (e) {
    const fe = e as CaptureFormatError;
    return errorLine('badCapture', fe.message, { field: fe.field });
  }
  if (rec.kind === 'state') return null;
  const r = decodeOne(rec.service, rec.dir, rec.hex);
  return { ok: r.ok, json: `{"t":${rec.t},"conn":${rec.conn},${r.json.slice(1)}` };
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
  try {
    const rl = createInterface({ input: await plainBytes(input), crlfDelay: Infinity });
    for await (const line of rl) {
      lineNo++;
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
          continue;
        }
      }
      const r = decodeLine(line, lineNo);
      if (r === null) continue;
      if (!r.ok) failed = true;
      if (!io.stdout.write(`${r.json}\n`)) await new Promise((res) => io.stdout.once('drain', res));
    }
  } catch (e) {
    io.stderr.write(`corosync-decode: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  return failed ? 1 : 0;
}
