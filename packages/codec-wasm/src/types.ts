/** TypeScript types derived from the catalog at the type level: nothing here is written twice. */
import type { MessageSpec, services } from './catalog.js';

/** A corosync service of the catalog (libqb's own `qb` handshake frames have no service). */
export type Service = Exclude<(typeof services)[number]['name'], 'qb'>;
export type Direction = 'req' | 'res' | 'evt' | 'setup';

export interface RingId {
  nodeid: number;
  seq: bigint;
}
export interface NodeState {
  nodeid: number;
  state: number;
}
/** mar_cpg_address_t (and the public struct cpg_address). */
export interface CpgAddress {
  nodeid: number;
  pid: number;
  reason: number;
}
/** struct corosync_knet_link_status_v1, one link of a cfg node status. */
export interface KnetLinkStatus {
  enabled: number;
  connected: number;
  dynconnected: number;
  mtu: number;
  srcIpaddr: string;
  dstIpaddr: string;
}

type FieldValue<F> = F extends { type: 'u8' | 'u16' | 'u32' | 'i32' }
  ? number
  : F extends { type: 'u64' | 'i64' }
    ? bigint
    : F extends { type: 'name' | 'chars' }
      ? string
      : F extends { type: 'ringId' }
        ? RingId
        : F extends { type: 'bytes' }
          ? Uint8Array
          : F extends { type: 'u32list' }
            ? number[]
            : F extends { type: 'nodeList' }
              ? NodeState[]
              : F extends { type: 'addrList' }
                ? Uint8Array[]
                : F extends { type: 'cpgName' }
                  ? Uint8Array
                  : F extends { type: 'csName' }
                    ? string
                    : F extends { type: 'cpgAddrList' | 'cpgAddrArray' }
                      ? CpgAddress[]
                      : F extends { type: 'charsArray' }
                        ? string[]
                        : F extends { type: 'linkStatusArray' }
                          ? KnetLinkStatus[]
                          : never;

/** What encode takes: a cpg group name may also be given as a string (its UTF-8 bytes). */
type EncodeValue<F> = F extends { type: 'cpgName' } ? Uint8Array | string : FieldValue<F>;

type FieldOf<M extends MessageSpec> = M['fields'][number];

/** The decoded fields of message spec M: `{ keyName: string; valueLen: bigint; ... }`. */
export type FieldsOf<M extends MessageSpec> = {
  -readonly [F in FieldOf<M> as F['name']]: FieldValue<F>;
};

type CountNames<M extends MessageSpec> = Extract<FieldOf<M>, { count: string }>['count'];

type EncodeValuesOf<M extends MessageSpec> = {
  -readonly [F in FieldOf<M> as F['name']]: EncodeValue<F>;
};

/** What encode takes for M: the decoded fields, with count fields optional (derived if absent). */
export type EncodeFieldsOf<M extends MessageSpec> = Omit<EncodeValuesOf<M>, CountNames<M>> &
  Partial<Pick<EncodeValuesOf<M>, CountNames<M> & keyof EncodeValuesOf<M>>>;

export type MessageName = MessageSpec['name'];

/** The spec of the message named N in direction D. */
export type SpecOf<N extends MessageName, D extends Direction = Direction> = Extract<MessageSpec, { name: N; dir: D }>;

/** Header options of encode(): a Decoded can be passed as is (encode(d.name, d.fields, d)). */
export interface EncodeHeader {
  /** Which of two messages sharing a name (a request and its response) is meant; default 'req'. */
  dir?: Direction;
  /** Response/event header error (cs_error_t; for qb.connectionResponse 0 or -errno). */
  error?: number;
  /** Header id; only for `<service>.error`, whose id is whatever the daemon answered (default 0). */
  id?: number;
  /** Total size, to add the zero fill of a cmap.get response (40 + the capacity asked for). */
  size?: number;
}

export interface Decoded<F = Record<string, unknown>> {
  name: string;
  /** Header id. */
  id: number;
  /** Header size (= the frame's length). */
  size: number;
  /** Header error of responses and events; absent for requests. */
  error?: number;
  fields: F;
  /** The service and direction the frame was decoded as ('qb' for setup frames); always set by decode(). */
  service?: Service | 'qb';
  dir?: Direction;
}

type SpecByKey = { [I in MessageSpec as `${I['dir']}:${I['name']}`]: I };

/** decode()'s result as a union, narrowed by `name` and `dir`. */
export type DecodedMessage = {
  [K in keyof SpecByKey]: Decoded<FieldsOf<SpecByKey[K]>> & {
    name: SpecByKey[K]['name'];
    dir: SpecByKey[K]['dir'];
    service: SpecByKey[K]['service'];
  };
}[keyof SpecByKey];

type ShortName<N> = N extends `${string}.${infer S}` ? S : never;

/** `encoders.cmap.req.get(fields, header?)` etc., one typed function per catalog message. */
export type Encoders = {
  [S in MessageSpec['service']]: {
    [D in Extract<MessageSpec, { service: S }>['dir']]: {
      [M in Extract<MessageSpec, { service: S; dir: D }> as ShortName<M['name']>]: (
        fields: EncodeFieldsOf<M>,
        header?: Omit<EncodeHeader, 'dir'>,
      ) => Uint8Array;
    };
  };
};
