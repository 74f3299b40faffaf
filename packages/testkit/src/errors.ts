const CONFIG_BRAND = Symbol.for('@corosync-ts/testkit/ConfigError');
const MOCK_BRAND = Symbol.for('@corosync-ts/testkit/MockError');

/**
 * A corosync.conf (or cluster spec) that corosync itself would refuse. `line` is 1-based and
 * set for syntax errors, `key` for bad values; `message` mirrors corosync's own wording.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError' as const;
  readonly line: number | undefined;
  readonly key: string | undefined;
  readonly file: string | undefined;
  constructor(message: string, opts: { line?: number; key?: string; file?: string } = {}) {
    super(opts.line !== undefined ? `parser error: ${opts.file ?? 'corosync.conf'}:${opts.line}: ${message}` : message);
    this.line = opts.line;
    this.key = opts.key;
    this.file = opts.file;
    Object.defineProperty(this, CONFIG_BRAND, { value: true });
  }
}
export function isConfigError(e: unknown): e is ConfigError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[CONFIG_BRAND] === true;
}

/** Misuse of the scripting API (unknown node id, starting a running node, ...). */
export class MockError extends Error {
  override readonly name = 'MockError' as const;
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    Object.defineProperty(this, MOCK_BRAND, { value: true });
  }
}
export function isMockError(e: unknown): e is MockError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[MOCK_BRAND] === true;
}
