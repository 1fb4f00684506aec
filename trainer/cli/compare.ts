import type { Command, CommandIO } from './command.js';
import { parseFlags } from './command.js';
import { UsageError } from '../util/errors.js';
import { resolveS3Config } from '../io/s3-config.js';
import { openDirectory } from '../io/directory.js';
import { openSink } from '../io/uri.js';
import { accuracyChart, accuracySeries, METRICS_FILE, type RunMetrics } from '../engine/train/outputs.js';
import { s3Flags, s3Options } from './s3-flags.js';

const usage = `Usage: cifar-trainer compare RUN_A RUN_B [RUN ...] --out chart.svg [--labels A,B,...]

Reads metrics.json from each run's --out directory (local or s3://) and draws their training
(dashed) and validation (solid) accuracy per epoch on one chart, like the tutorial's
scratch-against-fine-tune figure. Prints the validation accuracy per epoch side by side.

Options:
  --out FILE        the SVG chart to write (local or s3://)
  --labels A,B,...  names for the runs (default: each run's model name and origin)
  --title TEXT      chart title
${s3Flags.usage}`;

export const compareCommand: Command = {
  name: 'compare',
  summary: 'draw the accuracy curves of two or more runs on one chart (scratch vs fine-tune)',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values, positionals } = parseFlags('compare', argv, { out: { type: 'string' }, labels: { type: 'string' }, title: { type: 'string' }, ...s3Flags.options }, true);
    if (positionals.length < 2) throw new UsageError(`compare: expected at least two run directories, got ${positionals.length}`);
    if (!values.out) throw new UsageError('compare: --out chart.svg is required');
    const labels = values.labels?.split(',').map((l) => l.trim());
    if (labels && labels.length !== positionals.length) throw new UsageError(`--labels has ${labels.length} names for ${positionals.length} runs`);
    const s3 = resolveS3Config(s3Options(values), io.env);
    const runs: Array<{ label: string; metrics: RunMetrics }> = [];
    for (const [i, dir] of positionals.entries()) {
      let metrics: RunMetrics;
      try {
        metrics = JSON.parse((await openDirectory(dir, s3).read(METRICS_FILE)).toString('utf8')) as RunMetrics;
      } catch (err) {
        throw new UsageError(`${dir}: no readable ${METRICS_FILE} (${err instanceof Error ? err.message : String(err)})`);
      }
      if (!Array.isArray(metrics.epochs)) throw new UsageError(`${dir}/${METRICS_FILE}: has no "epochs" list`);
      runs.push({ label: labels?.[i] ?? `${metrics.model.name}${metrics.model.origin === 'scratch' ? ' scratch' : ' fine-tuned'}`, metrics });
    }
    const svg = accuracyChart(values.title ?? runs.map((r) => r.label).join(' vs '), runs.flatMap((r, i) => accuracySeries(r.label, r.metrics.epochs, i)));
    const sink = openSink(values.out, s3);
    await sink.write(Buffer.from(svg));
    await sink.commit();

    const epochs = Math.max(...runs.map((r) => r.metrics.epochs.length));
    const width = Math.max(12, ...runs.map((r) => r.label.length));
    const lines = [`${'epoch'.padEnd(6)}${runs.map((r) => r.label.padStart(width + 2)).join('')}`];
    for (let e = 0; e < epochs; e++) {
      const cells = runs.map((r) => {
        const acc = r.metrics.epochs[e]?.validationAccuracy;
        return (acc === undefined || acc === null ? '-' : acc.toFixed(4)).padStart(width + 2);
      });
      lines.push(`${String(e + 1).padEnd(6)}${cells.join('')}`);
    }
    lines.push(`validation accuracy per epoch; chart written to ${values.out}`);
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
