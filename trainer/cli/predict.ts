import type { Command, CommandIO } from './command.js';
import { choiceFlag, intFlag, parseFlags } from './command.js';
import { UsageError, errorMessage } from '../util/errors.js';
import { openSource } from '../io/uri.js';
import { resolveS3Config } from '../io/s3-config.js';
import { BACKEND_CHOICES, selectBackend } from '../engine/backend/select-backend.js';
import { loadModel } from '../engine/models/model-store.js';
import { preprocessingOf } from '../engine/models/preprocessing.js';
import { predictRecords, type PredictSummary } from '../engine/predict/predict.js';
import { s3Flags, s3Options } from './s3-flags.js';

const usage = `Usage: cifar-trainer predict --model DIR --data FILE.rec [--json] [options]

Classifies every image record of a RecordIO file with a model (a directory, s3:// prefix or
http(s) URL holding model.json: what train --out writes as model/, or import-mxnet's output),
in record order, and measures accuracy against each record's first label. Images are
centre-cropped to the model's input and normalised with the preprocessing stored in the model.

Options:
  --json               one JSON line per record: {"index","labels","probabilities"} (the softmax
                       of the network's output), then one {"summary": {...}} line; without
                       --json only the summary is printed
  --batch-size N       images per forward pass (default 128)
  --backend auto|tensorflow|wasm|cpu   (default auto)
${s3Flags.usage}`;

export const predictCommand: Command = {
  name: 'predict',
  summary: 'classify the images of a RecordIO file with a model and report its accuracy',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values } = parseFlags('predict', argv, {
      model: { type: 'string' },
      data: { type: 'string' },
      json: { type: 'boolean' },
      'batch-size': { type: 'string' },
      backend: { type: 'string' },
      ...s3Flags.options,
    });
    if (!values.model) throw new UsageError('predict: --model DIR is required');
    if (!values.data) throw new UsageError('predict: --data FILE.rec is required');
    const batchSize = intFlag('batch-size', values['batch-size'], 128, 1, 65536);
    const backend = choiceFlag('backend', values.backend, BACKEND_CHOICES, 'auto');
    const s3 = resolveS3Config(s3Options(values), io.env);
    await selectBackend(backend, (line) => io.stderr.write(`${line}\n`));
    let model;
    try {
      model = await loadModel(values.model, s3);
    } catch (err) {
      throw new UsageError(`--model ${values.model}: ${errorMessage(err)}`);
    }
    const preprocessing = preprocessingOf(model, values.model);
    const json = values.json ?? false;
    const source = openSource(values.data, s3);
    try {
      const summary = await predictRecords(source, {
        model,
        preprocessing,
        batchSize,
        onRecord: (p) => {
          if (json) io.stdout.write(`${JSON.stringify({ index: p.index, labels: p.labels, probabilities: p.probabilities })}\n`);
        },
      });
      if (summary.records === 0) throw new UsageError(`--data ${values.data}: no records`);
      const report = { model: values.model, data: values.data, ...summary, preprocessing };
      io.stdout.write(json ? `${JSON.stringify({ summary: finite(report) })}\n` : textSummary(report));
      return 0;
    } finally {
      await source.close();
      model.dispose();
    }
  },
};

// NaN is not JSON: figures without labeled records become null.
function finite<T extends object>(value: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? null : v]));
}

function textSummary(r: PredictSummary & { model: string; data: string; preprocessing: { mean: readonly number[]; std: readonly number[] } }): string {
  const lines = [
    `model:         ${r.model} (${r.classes} classes; preprocessing mean ${r.preprocessing.mean.join(',')} std ${r.preprocessing.std.join(',')})`,
    `data:          ${r.data}: ${r.records} records, ${r.labeled} labeled with a class of the model`,
  ];
  if (r.labeled > 0) {
    lines.push(`accuracy:      ${(100 * r.accuracy).toFixed(2)}% (${r.correct}/${r.labeled}, top-1 against each record's first label)`);
    lines.push(`mean loss:     ${r.loss.toFixed(4)} (cross-entropy)`);
  }
  return `${lines.join('\n')}\n`;
}
