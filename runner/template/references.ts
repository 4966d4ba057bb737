// Find the top-level variable names a parsed template refers to.

type Node = hbs.AST.Node;
type PathExpression = hbs.AST.PathExpression;

const CONTEXT_HELPERS = new Set(['each', 'with']);

/**
 * Collect the top-level variable names used in a parsed template, in order
 * of first use. Names in `skipFirstArgumentOf` helpers' first argument
 * (`default x 1`) are left out, because those helpers accept undefined.
 */
export function collectReferences(
  program: hbs.AST.Program,
  helperNames: Set<string>,
  skipFirstArgumentOf: Set<string> = new Set(),
): string[] {
  const names = new Set<string>();

  // `scopes` counts enclosing blocks that change the context; `locals`
  // holds block parameter names (`as |item|`).
  const visitPath = (path: PathExpression, scopes: number, locals: Set<string>): void => {
    const first = path.parts[0];
    if (first === undefined) return;
    if (path.data) {
      if (first === 'root' && path.parts[1] !== undefined) names.add(path.parts[1]);
      return;
    }
    if (path.depth === 0 && locals.has(first)) return;
    if (path.depth === scopes) names.add(first);
  };

  const visit = (node: Node | undefined, scopes: number, locals: Set<string>): void => {
    if (node === undefined || node === null) return;
    switch (node.type) {
      case 'Program':
        for (const statement of (node as hbs.AST.Program).body) visit(statement, scopes, locals);
        return;
      case 'PathExpression':
        visitPath(node as PathExpression, scopes, locals);
        return;
      case 'MustacheStatement':
      case 'SubExpression':
      case 'BlockStatement': {
        const call = node as hbs.AST.BlockStatement;
        const params = call.params ?? [];
        const pairs = call.hash?.pairs ?? [];
        const path = call.path as PathExpression;
        const isHelper = path.type === 'PathExpression' && (params.length > 0 || pairs.length > 0 || helperNames.has(path.original) || node.type === 'BlockStatement');
        if (!isHelper) visit(path, scopes, locals);
        const lenient = path.type === 'PathExpression' && skipFirstArgumentOf.has(path.original);
        params.forEach((param, index) => {
          if (lenient && index === 0 && param.type === 'PathExpression') return;
          visit(param, scopes, locals);
        });
        for (const pair of pairs) visit(pair.value, scopes, locals);
        if (node.type === 'BlockStatement') {
          const changesContext = CONTEXT_HELPERS.has(path.original);
          const inner = new Set(locals);
          for (const name of call.program?.blockParams ?? []) inner.add(name);
          visit(call.program, changesContext ? scopes + 1 : scopes, inner);
          visit(call.inverse, scopes, locals);
        }
        return;
      }
      default:
        return;
    }
  };

  visit(program, 0, new Set());
  return [...names];
}
