import { catalog, runtimeMessages, type RuntimeMessage } from '@corosync-ts/codec-wasm';
import { cfgService } from './cfg.js';
import { cmapService } from './cmap.js';
import { cpgService } from './cpg.js';
import type { BaseConn, ServiceDef } from './connection.js';
import { quorumService } from './quorum.js';
import { votequorumService } from './votequorum.js';

/**
 * The services the mock serves. Adding one: its catalog section in codec-wasm, a file here with
 * its connection class and `ServiceDef` (the handler table), and an entry below.
 */
export const SERVICES = {
  cmap: cmapService,
  quorum: quorumService,
  votequorum: votequorumService,
  cfg: cfgService,
  cpg: cpgService,
} as const;

export type ServiceName = keyof typeof SERVICES;

/** A ServiceDef with its types erased, for the dispatcher (the tables typecheck where they are written). */
export interface AnyServiceDef {
  open: ServiceDef<'cmap', BaseConn>['open'];
  handlers: Readonly<Record<string, (conn: BaseConn, req: never) => void>>;
  flowControlled?: readonly string[];
}

/** corosync's service number (corodefs.h), from the catalog. */
export const COROSYNC_SERVICE_ID = Object.fromEntries(
  catalog.services.filter((s) => s.corosyncId !== null).map((s) => [s.name, s.corosyncId]),
) as Readonly<Record<ServiceName, number>>;

/** A request of the catalog, with the short name that keys its service's handler table. */
export interface RequestEntry {
  readonly message: RuntimeMessage;
  readonly handler: string;
}

function requestsOf(svc: ServiceName): ReadonlyMap<number, RequestEntry> {
  const map = new Map<number, RequestEntry>();
  for (const m of runtimeMessages) {
    if (m.service === svc && m.dir === 'req' && m.id !== null) map.set(m.id, { message: m, handler: m.name.slice(svc.length + 1) });
  }
  return map;
}

/** Each served service's requests by wire id: an id not here is past its `lib_engine` table. */
export const REQUESTS = {} as Readonly<Record<ServiceName, ReadonlyMap<number, RequestEntry>>>;
for (const svc of Object.keys(SERVICES) as ServiceName[]) (REQUESTS as Record<ServiceName, unknown>)[svc] = requestsOf(svc);
