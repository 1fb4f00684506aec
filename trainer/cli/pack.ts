import type { Command, CommandIO } from './command.js';
import { choiceFlag, intFlag, parseFlags } from './command.js';
import { UsageError } from '../util/errors.js';
import { resolveS3Config } from '../io/s3-config.js';
import { ENCODINGS, packDataset } from '../data/pack/pack.js';
import { progressReporter } from './progress.js';
import { s3Flags, s3Options } from './s3-flags.js';
import { printable } from '../util/printable.js';
import { limitFlags, limitsFromValues } from '../data/limits.js';

const usage = `Usage: cifar-trainer pack --from SOURCE --out PREFIX [options]

Packs CIFAR-10 into MXNet image RecordIO: writes PREFIX.rec and PREFIX.idx (like im2rec).
SOURCE is any of: the official python version (cifar-10-batches-py/ or cifar-10-python.tar.gz),
the official binary version (cifar-10-batches-bin/ or cifar-10-binary.tar.gz), an image-folder
tree <split>/<class>/*.jpg|png (a directory or a .tar.gz), a directory of class folders
<class>/*.jpg|png (im2rec --recursive, ImageFolder), or an im2rec list FILE.lst with --root DIR
(index<TAB>label[<TAB>label...]<TAB>path; keys and labels from the list). PREFIX may be a local
path or s3://bucket/key.

Options:
  --split train|test       which split of the source (default train; class folders and lists are one split)
  --root DIR               for a .lst source: the directory its image paths are relative to
  --encoding jpg|png|passthrough
                           jpg re-encodes with --quality (im2rec's default), png is lossless,
                           passthrough stores the source files' bytes unchanged (image files only)
                           (default jpg)
  --quality N              JPEG quality 1-100 (default 95)
  --shuffle                store records in a shuffled order (keys and ids stay the source index)
  --seed N                 seed for --shuffle (default 0)
  --limit N                pack only the first N images of the source
${s3Flags.usage}
${limitFlags.usage}

SIGINT or SIGTERM stops packing and removes the partial output (exit 130 or 143).`;

/** Exit codes after a signal, as a shell reports a process killed by it (128 + signal number). */
const EXIT_SIGINT = 130;
const EXIT_SIGTERM = 143;

export const packCommand: Command = {
  name: 'pack',
  summary: "pack CIFAR-10 (python, binary, image folders, class folders or an im2rec .lst) into RecordIO, like MXNet's im2rec",
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values } = parseFlags('pack', argv, {
      from: { type: 'string' },
      out: { type: 'string' },
      split: { type: 'string' },
      root: { type: 'string' },
      encoding: { type: 'string' },
      quality: { type: 'string' },
      shuffle: { type: 'boolean' },
      seed: { type: 'string' },
      limit: { type: 'string' },
      ...s3Flags.options,
      ...limitFlags.options,
    });
    if (!values.from) throw new UsageError('pack: --from SOURCE is required');
    if (!values.out) throw new UsageError('pack: --out PREFIX is required');
    const limits = limitsFromValues(values);
    // On SIGINT/SIGTERM the pack stops at the next image and its writer removes the
    // temporary .rec and .idx, so an interrupted run leaves nothing beside the destination.
    const stop = new AbortController();
    let stoppedBy: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals): void => {
      stoppedBy ??= signal;
      stop.abort(new Error(`pack: stopped by ${signal}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let result: Awaited<ReturnType<typeof packDataset>>;
    try {
      result = await packDataset({
        from: values.from,
        out: values.out.replace(/\.rec$/, ''),
        split: choiceFlag('split', values.split, ['train', 'test'] as const, 'train'),
        ...(values.root !== undefined ? { root: values.root } : {}),
        encoding: choiceFlag('encoding', values.encoding, ENCODINGS, 'jpg'),
        quality: intFlag('quality', values.quality, 95, 1, 100),
        shuffle: values.shuffle ?? false,
        seed: intFlag('seed', values.seed, 0, 0, 0xffffffff),
        ...(values.limit !== undefined ? { limit: intFlag('limit', values.limit, 0, 1) } : {}),
        s3: resolveS3Config(s3Options(values), io.env),
        onProgress: progressReporter((line) => io.stderr.write(line), 'packed'),
        limits,
        signal: stop.signal,
      });
    } catch (err) {
      if (stoppedBy === undefined) throw err;
      io.stderr.write(`pack: stopped by ${stoppedBy}; the partial output was removed\n`);
      return stoppedBy === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (values.split !== undefined && (result.sourceKind === 'class-folder' || result.sourceKind === 'im2rec-list')) {
      io.stderr.write(`note: --split does not apply to a ${result.sourceKind} source, which is one split: all of it was packed\n`);
    }
    io.stdout.write(`wrote ${result.records} records from ${result.sourceKind} source to ${result.recUri} and ${result.idxUri}\n`);
    if (result.classNames.length > 0) io.stdout.write(`labels: ${result.classNames.map((name, i) => `${i}=${printable(name)}`).join(' ')}\n`);
    else io.stdout.write('labels: as in the list\n');
    return 0;
  },
};
