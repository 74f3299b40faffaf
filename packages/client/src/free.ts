// The C-shaped free functions of every service, beside the handle methods they call.
type Method<H> = { [K in keyof H]: H[K] extends (...args: never[]) => unknown ? K : never }[keyof H];
type Free<H, K extends Method<H>> = {
  [P in K]: H[P] extends (...args: infer A) => infer R ? (handle: H, ...args: A) => R : never;
};

/** C-shaped free functions: `cmap.get(h, key)` is `h.get(key)`. */
export function freeFunctions<H>() {
  return <K extends Method<H>>(names: readonly K[]): Free<H, K> => {
    const out = {} as Record<string, unknown>;
    for (const n of names) {
      out[n as string] = (h: H, ...args: unknown[]) => (h[n] as (...a: unknown[]) => unknown).apply(h, args);
    }
    return out as Free<H, K>;
  };
}

export const common = ['finalize', 'fdGet', 'dispatch', 'contextGet', 'contextSet'] as const;
