/// <reference types="node" />
// corosync-decode: the CLI of the codec (Node only; the library itself never imports this file).
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { decode } from './codec.js';
import { isDecodeError } from './errors.js';
import { decodedToJSON, fromHex } from './json.js';
import type { Direction, Service } from './types.js';

const USAGE = `usage: corosync-decode [FILE]                     JSON Lines {"service","dir","hex"} from FILE or stdin
       corosync-decode --service S --dir D HEX        one raw message
       corosync-decode --version                      the package version
  S: cmap | quorum | votequorum | cfg (not needed for --dir setup)
  D: req | res | evt | setup
Prints one JSON object per input line: {name, id, size, error, fields} or {"error": {kind, message}}.
Blank lines are skipped. Exit status: 0 all lines decoded, 1 some line failed, 2 usage error.`;

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

/** One JSON Lines input line -> one output line. Never throws. */
export function decodeLine(line: string): LineResult {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return errorLine('badJson', e instanceof Error ? e.message : 'invalid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return errorLine('badInput', 'each line must be a JSON object');
  const o = v as Record<string, unknown>;
  return decodeOne(o.service, o.dir, o.hex);
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
  try {
    const rl = createInterface({ input, crlfDelay: Infinity });
    for await (const line of rl) {
      if (line.trim() === '') continue;
      const r = decodeLine(line);
      if (!r.ok) failed = true;
      if (!io.stdout.write(`${r.json}\n`)) await new Promise((res) => io.stdout.once('drain', res));
    }
  } catch (e) {
    io.stderr.write(`corosync-decode: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  return failed ? 1 : 0;
}
