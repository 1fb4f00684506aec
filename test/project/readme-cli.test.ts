import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commands } from '../../trainer/cli/commands.js';
import { repoRoot } from '../helpers/datasets.js';

t.test('the README documents every command and every flag of the trainer CLI', async (t) => {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  for (const command of commands) {
    t.match(readme, new RegExp(`### ${command.name}\\b`), `README has a section for ${command.name}`);
    const flags = new Set(command.usage.match(/--[a-z0-9][a-z0-9-]*/g) ?? []);
    flags.delete('--help');
    for (const flag of flags) t.ok(readme.includes(`\`${flag}`) || readme.includes(` ${flag} `) || readme.includes(`${flag}\``), `${command.name} ${flag} is in the README`);
  }
});
