import t from 'tap';
import { bool, choice, int, num, readFlags, renderFlagUsage, str } from '../../../trainer/cli/flag-table.js';
import { TRAIN_FLAGS, parseTrainOptions, trainCommand } from '../../../trainer/cli/train.js';
import { runConfig } from '../../../trainer/engine/train/run-config.js';

const table = {
  epochs: int('passes', { default: 10, min: 1, max: 100 }),
  depth: int('layers', { min: 1 }),
  lr: num('rate', { default: 0.05, min: 0 }),
  mode: choice('how', ['fast', 'slow'] as const, 'fast'),
  out: str('where', 'DIR'),
  quiet: bool('say less'),
} as const;

t.test('a row is the flag: its default, bounds and type come from it', async (t) => {
  const { flags } = readFlags('demo', [], table, {});
  t.same(flags, { epochs: 10, depth: undefined, lr: 0.05, mode: 'fast', out: undefined, quiet: false });
  const set = readFlags('demo', ['--epochs', '7', '--depth', '3', '--lr', '0.5', '--mode', 'slow', '--out', 'x', '--quiet'], table, {}).flags;
  t.same(set, { epochs: 7, depth: 3, lr: 0.5, mode: 'slow', out: 'x', quiet: true });
  t.throws(() => readFlags('demo', ['--epochs', '0'], table, {}), /--epochs must be between 1 and 100, got 0/);
  t.throws(() => readFlags('demo', ['--mode', 'odd'], table, {}), /--mode must be one of fast, slow, got 'odd'/);
  t.throws(() => readFlags('demo', ['--nope'], table, {}), /demo: Unknown option '--nope'/);
  const { extra } = readFlags('demo', ['--s3-region', 'eu'], table, { 's3-region': { type: 'string' } } as const);
  t.same(extra, { 's3-region': 'eu' }, 'flags other modules own come back raw');
});

t.test('the usage text states each row once, with its default', async (t) => {
  const text = renderFlagUsage(table, [{ title: 'All', flags: Object.keys(table), notes: ['a note'] }]);
  const lines = text.split('\n');
  t.equal(lines[0], 'All:');
  const help = (i: number): string => lines[i].slice(33);
  t.same(lines.slice(1, 7).map((l) => l.slice(0, 33).trim()), ['--epochs N', '--depth N', '--lr X', '--mode fast|slow', '--out DIR', '--quiet'], 'names and values in the left column');
  t.same([1, 2, 3, 4, 5, 6].map(help), ['passes (default 10)', 'layers', 'rate (default 0.05)', 'how (default fast)', 'where', 'say less'], 'help aligned, defaults stated only where there is one');
  t.equal(lines[7], '  a note');
  t.throws(() => renderFlagUsage(table, [{ title: 'Some', flags: ['epochs', 'ghost'] }]), /missing depth, lr, mode, out, quiet; not in the table ghost/);
});

t.test('train: every default in the help is the default the parser applies', async (t) => {
  const parsed = parseTrainOptions(['--data-train', 'x.rec'], {});
  const lines = trainCommand.usage.split('\n');
  /** The default the help states for a flag: on its line, or on the next when the name is long. */
  const stated = (flag: string): string | undefined => {
    const at = lines.findIndex((l) => l.startsWith(`  --${flag} `) || l === `  --${flag}`);
    const text = /^\s/.test(lines[at + 1] ?? '') && !lines[at + 1].trimStart().startsWith('--') ? `${lines[at]} ${lines[at + 1]}` : lines[at];
    return /\(default ([^)]+)\)/.exec(text ?? '')?.[1];
  };
  t.equal(stated('epochs'), String(parsed.epochs));
  t.equal(stated('batch-size'), String(parsed.batchSize));
  t.equal(stated('lr'), String(parsed.learningRate));
  t.equal(stated('wd'), String(parsed.weightDecay));
  t.equal(stated('lr-schedule'), parsed.schedule.kind);
  t.equal(stated('pad'), String(parsed.augment.pad));
  t.equal(stated('cutout'), String(parsed.augment.cutout));
  t.equal(stated('image-shape'), parsed.imageShape.join(','));
  for (const name of Object.keys(TRAIN_FLAGS)) t.match(trainCommand.usage, new RegExp(`\\n {2}--${name}\\b`), `--${name} is in the help`);
});

t.test('train: --cutout reaches the training options and the recorded run config', async (t) => {
  const parsed = parseTrainOptions(['--data-train', 'x.rec', '--cutout', '8'], {});
  t.equal(parsed.augment.cutout, 8);
  t.same(runConfig(parsed).augment, { pad: 4, flip: true, cutout: 8 }, 'metrics.json says how the run augmented');
  t.equal(parseTrainOptions(['--data-train', 'x.rec'], {}).augment.cutout, 0, 'off by default');
  t.throws(() => parseTrainOptions(['--data-train', 'x.rec', '--cutout', '-1'], {}), /--cutout/);
});
