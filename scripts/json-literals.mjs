// A large data literal (a top-level const initialized by an object or array of strings, numbers,
// booleans and null only, `as const` / `satisfies` or not) rewritten as `JSON.parse('<the same
// value>')`, for scripts/bundle.mjs with "minify". Why: V8 parses a literal into an AST node per
// property and builds its boilerplate when the module is compiled, at ~140 instructions a byte
// of source; a string literal is only scanned, and JSON.parse builds the same objects far faster
// (V8's own advice for literals of 10 kB and more). The client's message catalog, 16 kB compiled
// at every import: CompileModule 26.9 -> 24.8 M instructions (callgrind, Node 20).
// The value is the same: property order, numeric keys (canonical strings either way), fresh
// mutable objects. A literal JSON cannot say exactly is left as it is: -0, a non-finite number, a
// `__proto__` key (a literal sets the prototype, JSON.parse an own property), a duplicate key, a
// computed or shorthand key, a spread, a hole, a method, undefined, a bigint, a template with
// substitutions, any identifier. The call is marked pure, so an unused one is still dropped.

/** The JSON value of a pure data literal expression: `{ v }`, or undefined if it is not one. */
function jsonValue(ts, n) {
  while (ts.isAsExpression(n) || ts.isSatisfiesExpression(n) || ts.isParenthesizedExpression(n)) n = n.expression;
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return { v: n.text };
  if (ts.isNumericLiteral(n)) {
    const v = Number(n.text.replace(/_/g, ''));
    return Number.isFinite(v) ? { v } : undefined;
  }
  if (n.kind === ts.SyntaxKind.TrueKeyword) return { v: true };
  if (n.kind === ts.SyntaxKind.FalseKeyword) return { v: false };
  if (n.kind === ts.SyntaxKind.NullKeyword) return { v: null };
  if (ts.isPrefixUnaryExpression(n) && n.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(n.operand)) {
    const v = -Number(n.operand.text.replace(/_/g, ''));
    return Number.isFinite(v) && !Object.is(v, -0) ? { v } : undefined;
  }
  if (ts.isArrayLiteralExpression(n)) {
    const out = [];
    for (const e of n.elements) {
      const x = ts.isOmittedExpression(e) ? undefined : jsonValue(ts, e);
      if (!x) return undefined;
      out.push(x.v);
    }
    return { v: out };
  }
  if (ts.isObjectLiteralExpression(n)) {
    const out = {};
    for (const p of n.properties) {
      if (!ts.isPropertyAssignment(p)) return undefined;
      const k = ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) ? p.name.text : ts.isNumericLiteral(p.name) ? String(Number(p.name.text.replace(/_/g, ''))) : undefined;
      if (k === undefined || k === '__proto__' || Object.hasOwn(out, k)) return undefined;
      const x = jsonValue(ts, p.initializer);
      if (!x) return undefined;
      out[k] = x.v;
    }
    return { v: out };
  }
  return undefined;
}

/**
 * `source` (TypeScript or JavaScript) with every top-level const whose initializer is a pure data
 * object or array of at least `min` characters of source initialized by JSON.parse instead:
 * `{ contents, names }`, or undefined when there is none. `ts` is the typescript module.
 */
export function jsonLiterals(ts, file, source, min) {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edits = [];
  for (const st of sf.statements) {
    if (!ts.isVariableStatement(st) || !(st.declarationList.flags & ts.NodeFlags.Const)) continue;
    for (const d of st.declarationList.declarations) {
      const init = d.initializer;
      if (!init || !ts.isIdentifier(d.name) || init.end - init.getStart(sf) < min) continue;
      const x = jsonValue(ts, init);
      if (!x || typeof x.v !== 'object' || x.v === null) continue;
      edits.push({ start: init.getStart(sf), end: init.end, text: `/* @__PURE__ */ JSON.parse(${JSON.stringify(JSON.stringify(x.v))})`, name: d.name.text });
    }
  }
  if (edits.length === 0) return undefined;
  let contents = source;
  for (const e of [...edits].reverse()) contents = contents.slice(0, e.start) + e.text + contents.slice(e.end);
  return { contents, names: edits.map((e) => e.name) };
}
