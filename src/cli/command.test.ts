import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Command, parseCommandArgs, resolveCommand } from './command.ts';

const get: Command = { name: 'get', summary: 'get', run: () => 0 };
const local: Command = { name: 'local', summary: 'local', subcommands: [get] };
const root: Command = { name: 'strait', summary: 'root', subcommands: [local] };

describe('resolveCommand', () => {
  it('finds nested subcommands and leaves the rest', () => {
    const { path, rest } = resolveCommand(root, ['local', 'get', 'svc', '-n', 'shop']);
    assert.deepEqual(
      path.map((c) => c.name),
      ['strait', 'local', 'get'],
    );
    assert.deepEqual(rest, ['svc', '-n', 'shop']);
  });

  it('accepts global flags before the subcommand', () => {
    for (const argv of [
      ['--context', 'east', 'local', 'get', 'svc'],
      ['local', '--context=east', 'get', 'svc'],
    ]) {
      const { path, rest } = resolveCommand(root, argv);
      assert.equal(path.at(-1)?.name, 'get');
      const parsed = parseCommandArgs(path.at(-1) as Command, rest);
      assert.equal(parsed.values.context, 'east');
      assert.deepEqual(parsed.positionals, ['svc']);
    }
  });

  it('reports unknown flags as usage errors', () => {
    const { path, rest } = resolveCommand(root, ['local', 'get', '--bogus']);
    assert.throws(() => parseCommandArgs(path.at(-1) as Command, rest), { code: 'E_USAGE' });
  });
});
