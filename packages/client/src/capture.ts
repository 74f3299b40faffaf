// Which capture writer a handle records to: the `capture` option, else COROSYNC_TS_CAPTURE (so an
// unmodified application can be recorded), else none.
import { isCaptureWriter, type CaptureWriter } from '@corosync-ts/ipc';
import { CS_ERR_INVALID_PARAM, CsError } from '@corosync-ts/types';
import type * as CaptureFile from './capture-file.js';

export const CAPTURE_ENV = 'COROSYNC_TS_CAPTURE';

const envFailed = new Set<string>();
let files: Promise<typeof CaptureFile> | undefined;
const sharedWriter = async (path: string): Promise<CaptureWriter> => (await (files ??= import('./capture-file.js'))).sharedWriter(path);

/**
 * The writer for a connection about to open. An explicit path that cannot be opened is the
 * caller's error (CS_ERR_INVALID_PARAM); a bad COROSYNC_TS_CAPTURE only warns, once, and the
 * application runs unrecorded. A path loads the writer's file on first use; a CaptureWriter the
 * caller opened is taken as it is (by its brand: it may come from another copy of ipc).
 */
export async function captureWriterFor(opt: string | CaptureWriter | undefined, operation: string): Promise<CaptureWriter | undefined> {
  if (isCaptureWriter(opt)) return opt.closed ? undefined : opt;
  if (typeof opt === 'string') {
    try {
      return await sharedWriter(opt);
    } catch (e) {
      throw new CsError(CS_ERR_INVALID_PARAM, `cannot open the capture file ${opt}: ${(e as Error).message}`, { operation, cause: e });
    }
  }
  if (opt !== undefined) throw new CsError(CS_ERR_INVALID_PARAM, 'capture must be a path or a CaptureWriter', { operation });
  const env = process.env[CAPTURE_ENV];
  if (!env || envFailed.has(env)) return undefined;
  try {
    return await sharedWriter(env);
  } catch (e) {
    envFailed.add(env);
    process.emitWarning(`${CAPTURE_ENV}=${env}: not recording (${(e as Error).message})`, 'CorosyncCaptureWarning');
    return undefined;
  }
}
