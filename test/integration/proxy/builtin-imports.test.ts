import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BuiltinImportError, rewriteBuiltinImports } from '../../../scripts/builtin-imports.ts';

describe('rewriteBuiltinImports (compiled proxy build)', () => {
  it('turns each form of built-in import into process.getBuiltinModule', () => {
    const source = [
      "import http from 'node:http';",
      "import { readFileSync, statSync as stat } from 'node:fs';",
      "import * as os from 'node:os';",
      "import tls, { connect } from 'node:tls';",
      "import 'node:dns';",
      'import { relay } from "./relay.js";',
      "import { createClient } from '@connectrpc/connect';",
    ].join('\n');
    assert.equal(
      rewriteBuiltinImports(source),
      [
        "const http = process.getBuiltinModule('node:http');",
        "const { readFileSync, statSync: stat } = process.getBuiltinModule('node:fs');",
        "const os = process.getBuiltinModule('node:os');",
        "const tls = process.getBuiltinModule('node:tls'); const { connect } = tls;",
        "process.getBuiltinModule('node:dns');",
        'import { relay } from "./relay.js";',
        "import { createClient } from '@connectrpc/connect';",
      ].join('\n'),
    );
  });

  it('refuses a clause it does not understand, naming it', () => {
    for (const statement of ["import { a-b } from 'node:fs';", "import { default as fs } from 'node:fs';"]) {
      assert.throws(
        () => rewriteBuiltinImports(`const before = 1;\n${statement}`),
        (error: unknown) => error instanceof BuiltinImportError && error.message.includes(statement),
      );
    }
  });

  it('gives a module the same bindings without loading what the module facade would', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strait-builtin-imports-'));
    const body = [
      "import http from 'node:http';",
      "import { createServer } from 'node:net';",
      "import { readFileSync } from 'node:fs';",
      'const loaded = process.moduleLoadList.some((m) => m.includes("undici") || m.includes("readline"));',
      'console.log(JSON.stringify({ http: typeof http.request, net: typeof createServer, fs: typeof readFileSync, loaded }));',
    ].join('\n');
    writeFileSync(join(dir, 'facade.mjs'), body);
    writeFileSync(join(dir, 'rewritten.mjs'), rewriteBuiltinImports(body));
    const run = (file: string) =>
      JSON.parse(execFileSync(process.execPath, [join(dir, file)], { encoding: 'utf8' })) as Record<
        string,
        unknown
      >;
    const types = { http: 'function', net: 'function', fs: 'function' };
    assert.deepEqual(run('facade.mjs'), { ...types, loaded: true });
    assert.deepEqual(run('rewritten.mjs'), { ...types, loaded: false });
  });
});
