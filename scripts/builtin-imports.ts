// Rewrites the static imports of Node built-ins in compiled JavaScript into
// process.getBuiltinModule() calls. An ES `import` of a built-in builds its
// module facade, which reads every export, and so loads what the lazy ones
// hide: `node:http` pulls in the bundled undici (WebSocket), web streams,
// zlib, perf_hooks and worker_threads; `node:fs` pulls in readline. A proxy
// started that way holds about 4.5 MB more RSS (bench/results/proxy.json).

const IMPORT = /^import\s+([^'";]*?)\s+from\s+'(node:[a-z_/0-9]+)';$/gm;
const BARE_IMPORT = /^import\s+'(node:[a-z_/0-9]+)';$/gm;
const DEFAULT = /^[A-Za-z_$][\w$]*$/;
const NAMESPACE = /^\*\s+as\s+([A-Za-z_$][\w$]*)$/;
const NAMED = /^\{([^}]*)\}$/;
const DEFAULT_AND_NAMED = /^([A-Za-z_$][\w$]*)\s*,\s*(\{[^}]*\})$/;

/** An import clause this rewrite does not understand. */
export class BuiltinImportError extends Error {
  override name = 'BuiltinImportError';
}

/**
 * Returns `source` with every single-line `import … from 'node:…'` turned
 * into a `const` bound to `process.getBuiltinModule(…)`. Built-in exports
 * never change, so the live bindings of an import are not needed. Throws
 * BuiltinImportError for a clause it cannot rewrite, naming it.
 */
export function rewriteBuiltinImports(source: string): string {
  return source
    .replace(BARE_IMPORT, (_statement, specifier: string) => `process.getBuiltinModule('${specifier}');`)
    .replace(IMPORT, (statement, clause: string, specifier: string) => {
      const load = `process.getBuiltinModule('${specifier}')`;
      const single = DEFAULT.exec(clause) ?? NAMESPACE.exec(clause);
      if (single) return `const ${single[1] ?? single[0]} = ${load};`;
      if (NAMED.test(clause)) return `const ${destructure(clause, statement)} = ${load};`;
      const both = DEFAULT_AND_NAMED.exec(clause);
      if (both) {
        const [, name, named] = both as unknown as [string, string, string];
        return `const ${name} = ${load}; const ${destructure(named, statement)} = ${name};`;
      }
      throw new BuiltinImportError(`cannot rewrite "${statement}"`);
    });
}

/** `{ a, b as c }` → `{ a, b: c }`. */
function destructure(named: string, statement: string): string {
  const names = (NAMED.exec(named)?.[1] ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const bindings = names.map((part) => {
    const match = /^([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/.exec(part);
    // `default` is the module itself, not one of its properties.
    if (!match || match[1] === 'default') throw new BuiltinImportError(`cannot rewrite "${statement}"`);
    return match[2] ? `${match[1]}: ${match[2]}` : (match[1] as string);
  });
  return `{ ${bindings.join(', ')} }`;
}
