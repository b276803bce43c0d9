import { readFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { formatDocument, outputFormat, outputOption } from '../output.ts';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export const straitVersion: string = pkg.version;

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the client version',
  options: outputOption,
  run(ctx) {
    const format = outputFormat(ctx.values.output);
    const info = { client: straitVersion, node: process.versions.node };
    ctx.stdout.write(format === 'table' ? `Client version: ${info.client}\n` : formatDocument(info, format));
    return 0;
  },
};
