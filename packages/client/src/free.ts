// The C-shaped free functions of every service, beside the handle methods they call.
type Method<H> = { [K in keyof H]: H[K] extends (...args: never[]) => unknown ? K : never }[keyof H];
type Free<H, K extends Method<H>> = {
  [P in K]: H[P] extends (...args: infer A) => infer R ? (handle: H, ...args: A) => R : never;
};

/**
 * C-shaped free functions: `cmap.get(h, key)` is `h.get(key)`, written into `base` (the namespace
 * object with its `initialize`). Into it, not spread from a second object: a fresh process builds
 * these at import, and every object and array it need not build there fills the young generation
 * towards the scavenge a one-call script would otherwise pay while it waits for its first answer.
 */
export function freeFunctions<H>() {
  return <B extends object, K extends Method<H>>(base: B, ...groups: (readonly K[])[]): B & Free<H, K> => {
    const out = base as Record<string, unknown>;
    for (const names of groups) {
      for (const n of names) {
        out[n as string] = (h: H, ...args: unknown[]) => (h[n] as (...a: unknown[]) => unknown).apply(h, args);
      }
    }
    return out as B & Free<H, K>;
  };
}

export const common = ['finalize', 'fdGet', 'dispatch', 'contextGet', 'contextSet'] as const;
