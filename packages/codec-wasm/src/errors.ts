// Registry symbols, not class identity: two copies of this package in one tree (two versions, or
// a bundle plus a dependency) must still recognise each other's errors.
const DECODE_BRAND = Symbol.for('@corosync-ts/codec-wasm.DecodeError');
const ENCODE_BRAND = Symbol.for('@corosync-ts/codec-wasm.EncodeError');

/**
 * Why bytes could not be decoded.
 * - `truncated`: fewer bytes than the header or the message's fixed part.
 * - `sizeMismatch`: the header's size field disagrees with the number of bytes.
 * - `badSize`: the size agrees with the bytes but not with the layout (e.g. bytes left over after
 *   the variable part, or a fixed-size message of another size).
 * - `unknownMessage`: no message with this id for the service and direction.
 * - `countOverrun`: a count or length field runs past the end of the frame.
 * - `nameTooLong`: a name's length above its field (mar_name_t and cs_name_t: 256 bytes, mar_cpg_name_t: 128).
 * - `badValue`: a cmap value whose length does not fit its type.
 * - `badFrame`: stream splitting met a size field that cannot start a frame (garbage).
 * - `badArgument`: an unknown service or direction, or bytes that are not a Uint8Array.
 * - `tooLarge`: a frame too large for the codec's memory.
 */
export type DecodeErrorKind =
  | 'truncated'
  | 'sizeMismatch'
  | 'badSize'
  | 'unknownMessage'
  | 'countOverrun'
  | 'nameTooLong'
  | 'badValue'
  | 'badFrame'
  | 'badArgument'
  | 'tooLarge';

export interface DecodeErrorDetails {
  kind: DecodeErrorKind;
  messageName?: string | undefined;
  field?: string | undefined;
  offset?: number | undefined;
}

export class DecodeError extends Error {
  /** By the brand, so a DecodeError of another copy (the client's bundle inlines one) is one too. */
  static override [Symbol.hasInstance](value: unknown): value is DecodeError {
    return isDecodeError(value);
  }

  override readonly name = 'DecodeError';
  readonly kind: DecodeErrorKind;
  /** The message being decoded, when the header identified one. */
  readonly messageName: string | undefined;
  /** The catalog field at fault, or `header` / `id` / `size` for the frame header. */
  readonly field: string | undefined;
  /** Byte offset in the frame where the problem is. */
  readonly offset: number | undefined;

  constructor(message: string, details: DecodeErrorDetails) {
    super(message);
    this.kind = details.kind;
    this.messageName = details.messageName;
    this.field = details.field;
    this.offset = details.offset;
    Object.defineProperty(this, DECODE_BRAND, { value: true });
  }
}

/**
 * Why fields could not be encoded.
 * - `unknownMessage`: no message by that name (and direction).
 * - `missingField` / `unknownField`: a required field is absent, or an unknown one is present.
 * - `badType`: wrong JS type (e.g. a number for a u64 field, which takes a bigint).
 * - `outOfRange`: an integer outside its wire type, or not an integer.
 * - `tooLong`: a string or value longer than its field (mar_name_t holds 256 bytes, char[N]
 *   N-1 plus the NUL).
 * - `badValue`: a string with a NUL inside, an address entry that is not 16 bytes, etc.
 * - `countMismatch`: a count field that disagrees with its list or value.
 * - `badSize`: a header size override that does not fit the message.
 * - `tooLarge`: more than the codec's memory can hold.
 */
export type EncodeErrorKind =
  | 'unknownMessage'
  | 'missingField'
  | 'unknownField'
  | 'badType'
  | 'outOfRange'
  | 'tooLong'
  | 'badValue'
  | 'countMismatch'
  | 'badSize'
  | 'tooLarge';

export interface EncodeErrorDetails {
  kind: EncodeErrorKind;
  messageName?: string | undefined;
  field?: string | undefined;
}

export class EncodeError extends Error {
  /** By the brand, so an EncodeError of another copy (the client's bundle inlines one) is one too. */
  static override [Symbol.hasInstance](value: unknown): value is EncodeError {
    return isEncodeError(value);
  }

  override readonly name = 'EncodeError';
  readonly kind: EncodeErrorKind;
  readonly messageName: string | undefined;
  readonly field: string | undefined;

  constructor(message: string, details: EncodeErrorDetails) {
    super(message);
    this.kind = details.kind;
    this.messageName = details.messageName;
    this.field = details.field;
    Object.defineProperty(this, ENCODE_BRAND, { value: true });
  }
}

/** True for a DecodeError from any copy of this package. */
export function isDecodeError(e: unknown): e is DecodeError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[DECODE_BRAND] === true;
}

/** True for an EncodeError from any copy of this package. */
export function isEncodeError(e: unknown): e is EncodeError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[ENCODE_BRAND] === true;
}
