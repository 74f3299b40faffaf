// Which capture writer a handle records to: the `capture` option, else COROSYNC_TS_CAPTURE (so an
// unmodified application can be recorded), else none. Handles naming the same path share one
// writer, so their connections get distinct ids in one file.
import { readFileSync } from 'node:fs';
import { CaptureWriter } from '@corosync-ts/ipc';
import { CS_ERR_INVALID_PARAM, CsError } from '@corosync-ts/types';

export const CAPTURE_ENV = 'COROSYNC_TS_CAPTURE';

const writers = new Map<string, CaptureWriter>();
const envFailed = new Set<string>();
let version: string | undefined;

function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}

function shared(path: string): CaptureWriter {
  const resolved = path.replace(/%p/g, String(process.pid));
  let w = writers.get(resolved);
  if (!w || w.closed) {
    w = CaptureWriter.open(resolved, { mode: 'client', name: '@corosync-ts/client', version: packageVersion() });
    writers.set(resolved, w);
  }
  return w;
}

/**
 * The writer for a connection about to open. An explicit path that cannot be opened is the
 * caller's error (CS_ERR_INVALID_PARAM); a bad COROSYNC_TS_CAPTURE only warns, once, and the
 * application runs unrecorded.
 */
export function captureWriterFor(opt: string | CaptureWriter | undefined, operation: string): CaptureWriter | undefined {
  if (opt instanceof CaptureWriter) return opt.closed ? undefined : opt;
  if (typeof opt === 'string') {
    try {
      return shared(opt);
    } catch (e) {
      throw new CsError(CS_ERR_INVALID_PARAM, `cannot open the capture file ${opt}: ${(e as Error).message}`, { operation, cause: e });
    }
  }
  if (opt !== undefined) throw new CsError(CS_ERR_INVALID_PARAM, 'capture must be a path or a CaptureWriter', { operation });
  const env = process.env[CAPTURE_ENV];
  if (!env || envFailed.has(env)) return undefined;
  try {
    return shared(env);
  } catch (e) {
    envFailed.add(env);
    process.emitWarning(`${CAPTURE_ENV}=${env}: not recording (${(e as Error).message})`, 'CorosyncCaptureWarning');
    return undefined;
  }
}
