// npm run bench:tutorial: the MXNet tutorial's comparison (train from scratch, or fine-tune a
// pretrained network with its last layer replaced) at real accuracy on this machine's
// fastest CPU path. The transfer is kept honest inside CIFAR-10: the network is pretrained on
// five classes (airplane, automobile, bird, cat, deer) and then trained on the other five
// (dog, frog, horse, ship, truck), from scratch or from the pretrained weights with a new
// 5-way head, on the same images with the same settings. Neither run sees a test image, nor
// the pretraining any image of the task's classes. Prints the validation accuracy per epoch
// side by side and draws the chart.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { exitWithoutCifar, runTrainerQuietly } from './lib/trainer-cli.js';
import { packedCifar } from '../../test/helpers/packed-cifar.js';
import { writeClassSubset } from './lib/class-split.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'resnet' },
    depth: { type: 'string', default: '20' },
    'pretrain-epochs': { type: 'string', default: '6' },
    epochs: { type: 'string', default: '8' },
    examples: { type: 'string', default: '5000' },
    backend: { type: 'string', default: 'auto' },
    out: { type: 'string', default: '.bench/tutorial' },
    chart: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(`Usage: npm run bench:tutorial -- [--model resnet|resnext] [--depth N] [--pretrain-epochs N] [--epochs N]
                                 [--examples N] [--backend auto|native|wasm] [--out DIR] [--chart FILE]
  pretrain on all 25,000 training images of classes 0-4 for --pretrain-epochs (default 6), then train on
  --examples (default 5000) images of classes 5-9 for --epochs (default 8) from scratch and fine-tuned;
  --chart copies the comparison chart there (the README's is docs/images/tutorial-scratch-vs-finetune.svg)`);
  process.exit(0);
}
exitWithoutCifar('bench:tutorial');
const out = resolve(values.out!);
await mkdir(out, { recursive: true });

const PRETRAIN_CLASSES = [0, 1, 2, 3, 4];
const TASK_CLASSES = [5, 6, 7, 8, 9];
const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(0);
let t0 = performance.now();
const train = await packedCifar('train');
const test = await packedCifar('test');
const preTrain = await writeClassSubset(train, join(out, 'data', 'a-train'), PRETRAIN_CLASSES);
const preVal = await writeClassSubset(test, join(out, 'data', 'a-test'), PRETRAIN_CLASSES);
const taskTrain = await writeClassSubset(train, join(out, 'data', 'b-train'), TASK_CLASSES, Number(values.examples));
const taskVal = await writeClassSubset(test, join(out, 'data', 'b-test'), TASK_CLASSES);
console.log(`classes 0-4: ${preTrain.records} train / ${preVal.records} validation images; classes 5-9: ${taskTrain.records} train / ${taskVal.records} validation images (${seconds(t0)} s)`);

const network = values.model === 'resnext' ? ['--model', 'resnext', '--depth', values.depth === '20' ? '29' : values.depth!] : ['--model', values.model!, '--depth', values.depth!];
const name = `${values.model === 'resnext' ? 'ResNeXt' : 'ResNet'}-${network[3]}`;
// The usual CIFAR recipe for these networks: SGD with Nesterov momentum, cosine decay, weight decay, pad-and-crop and flips.
const recipe = ['--backend', values.backend!, '--num-classes', '5', '--batch-size', '128', '--lr', '0.1', '--nesterov', '--wd', '0.0005', '--lr-schedule', 'cosine', '--warmup-epochs', '1', '--progress-interval', '3600'];

t0 = performance.now();
await runTrainerQuietly(['train', ...network, ...recipe, '--data-train', preTrain.rec, '--data-val', preVal.rec, '--epochs', values['pretrain-epochs']!, '--out', join(out, 'pretrained')]);
const preAcc = (JSON.parse(await readFile(join(out, 'pretrained', 'metrics.json'), 'utf8')) as { finalValidationAccuracy: number }).finalValidationAccuracy;
console.log(`pretrained ${name} on classes 0-4, ${values['pretrain-epochs']} epochs: ${(preAcc * 100).toFixed(1)}% on their validation images (${seconds(t0)} s)`);

const task = ['--data-train', taskTrain.rec, '--data-val', taskVal.rec, '--epochs', values.epochs!, '--seed', '11'];
t0 = performance.now();
await runTrainerQuietly(['train', ...network, ...recipe, ...task, '--out', join(out, 'scratch')]);
console.log(`from scratch on ${taskTrain.records} images of classes 5-9, ${values.epochs} epochs (${seconds(t0)} s)`);
t0 = performance.now();
await runTrainerQuietly(['train', ...network, ...recipe, ...task, '--pretrained', join(out, 'pretrained', 'model'), '--out', join(out, 'finetune')]);
console.log(`fine-tuned (new 5-way head, all layers train) on the same images, ${values.epochs} epochs (${seconds(t0)} s)`);

const chart = join(out, 'compare.svg');
process.stdout.write(await runTrainerQuietly(['compare', join(out, 'scratch'), join(out, 'finetune'), '--labels', 'scratch,fine-tune', '--title', `${name} on CIFAR-10 classes 5-9: scratch vs fine-tuned from classes 0-4`, '--out', chart]));
if (values.chart) await copyFile(chart, resolve(values.chart));
const acc = async (run: string) => (JSON.parse(await readFile(join(out, run, 'metrics.json'), 'utf8')) as { epochs: Array<{ validationAccuracy: number }> }).epochs.map((e) => e.validationAccuracy);
const scratch = await acc('scratch');
const tuned = await acc('finetune');
const points = (i: number) => ((tuned[i] - scratch[i]) * 100).toFixed(1);
console.log(
  `bench:tutorial summary: ${name}, fine-tune ahead of scratch by ${points(0)} points after epoch 1 and ${points(scratch.length - 1)} after epoch ${scratch.length} ` +
    `(validation ${(tuned.at(-1)! * 100).toFixed(1)}% vs ${(scratch.at(-1)! * 100).toFixed(1)}%); chart ${values.chart ? resolve(values.chart) : chart}`,
);
