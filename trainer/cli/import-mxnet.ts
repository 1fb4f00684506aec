import type { Command, CommandIO } from './command.js';
import { parseFlags } from './command.js';
import { UsageError } from '../util/errors.js';
import { resolveS3Config } from '../io/s3-config.js';
import { importMxnetCheckpoint } from '../engine/models/mxnet/import.js';
import { saveModel } from '../engine/models/model-store.js';
import { countParams } from '../engine/models/count.js';
import { s3Flags, s3Options } from './s3-flags.js';

const usage = `Usage: cifar-trainer import-mxnet --symbol PREFIX-symbol.json --params PREFIX-NNNN.params --out DIR [options]

Converts an MXNet checkpoint (a symbol JSON and its .params, as mx.model.save_checkpoint or
HybridBlock.export write them) into a TensorFlow.js layers model that 'train --pretrained DIR'
and 'predict --model DIR' accept. Weights are converted from MXNet's NCHW layout so the outputs
are the same; the final SoftmaxOutput/softmax is dropped (models here output logits). Layers keep
their MXNet node names (for --layer-before-fullc). An unsupported operator or attribute is an
error naming the node. Inputs and output may be local paths or s3:// URIs.

Options:
  --input-shape C,H,W   network input (default 3,32,32)
  --mean R,G,B          per-channel mean subtracted from the 0-255 RGB pixels (default 0,0,0)
  --std R,G,B           per-channel divisor applied after the mean (default 1,1,1)
                        (mean and std are stored with the model; predict and fine-tuning apply them)
${s3Flags.usage}`;

function triple(flag: string, value: string | undefined, fallback: [number, number, number]): [number, number, number] {
  if (value === undefined) return fallback;
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 3 || value.split(',').some((p) => p.trim() === '') || parts.some((n) => !Number.isFinite(n))) {
    throw new UsageError(`--${flag} must be three numbers R,G,B, got '${value}'`);
  }
  return parts as [number, number, number];
}

export const importMxnetCommand: Command = {
  name: 'import-mxnet',
  summary: 'convert an MXNet checkpoint (symbol JSON + .params) into a model for train --pretrained and predict',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values } = parseFlags('import-mxnet', argv, {
      symbol: { type: 'string' },
      params: { type: 'string' },
      out: { type: 'string' },
      'input-shape': { type: 'string' },
      mean: { type: 'string' },
      std: { type: 'string' },
      ...s3Flags.options,
    });
    if (!values.symbol) throw new UsageError('import-mxnet: --symbol PREFIX-symbol.json is required');
    if (!values.params) throw new UsageError('import-mxnet: --params PREFIX-NNNN.params is required');
    if (!values.out) throw new UsageError('import-mxnet: --out DIR is required');
    const inputShape = triple('input-shape', values['input-shape'], [3, 32, 32]);
    if (!inputShape.every((n) => Number.isInteger(n) && n > 0) || inputShape[0] !== 3) {
      throw new UsageError(`--input-shape must be 3,H,W with positive integers (RGB input), got '${values['input-shape']}'`);
    }
    const mean = triple('mean', values.mean, [0, 0, 0]);
    const std = triple('std', values.std, [1, 1, 1]);
    if (!std.every((v) => v > 0)) throw new UsageError(`--std values must be positive, got '${values.std}'`);
    const preprocessing = { mean, std };
    const s3 = resolveS3Config(s3Options(values), io.env);
    const imported = await importMxnetCheckpoint({ symbolUri: values.symbol, paramsUri: values.params, inputShape, preprocessing, s3 });
    const { model, metadata } = imported;
    try {
      const params = countParams(model);
      await saveModel(model, values.out, s3);
      const classes = model.outputs[0].shape[1];
      io.stdout.write(`imported ${model.name}: ${model.layers.length} layers, ${params.total.toLocaleString('en-US')} weights (${params.trainable.toLocaleString('en-US')} trainable)\n`);
      io.stdout.write(`input '${metadata.input}' ${inputShape.join(',')} (C,H,W); output '${metadata.output}', ${classes} values${metadata.droppedSoftmax ? ` (softmax '${metadata.droppedSoftmax}' dropped: the model outputs logits)` : ''}\n`);
      io.stdout.write(`preprocessing: (pixel - mean ${preprocessing.mean.join(',')}) / std ${preprocessing.std.join(',')}\n`);
      if (imported.unusedParams.length > 0) io.stdout.write(`not used by the network: ${imported.unusedParams.join(', ')}\n`);
      io.stdout.write(`wrote ${values.out.replace(/\/+$/, '')}/model.json\n`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};
