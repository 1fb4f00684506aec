// npm run bench:finetune: the tutorial's comparison, scaled to a CPU. A LeNet "pretrained"
// on one half of CIFAR-10's training set is fine-tuned (new head) on images from the other
// half, against the same network trained from scratch on the same images; validation
// accuracy per epoch side by side, and the chart.
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { exitWithoutCifar, runTrainerQuietly } from './lib/trainer-cli.js';
import { packedCifar } from '../../test/helpers/packed-cifar.js';

const { values } = parseArgs({
  options: { epochs: { type: 'string', default: '5' }, examples: { type: 'string', default: '5000' }, out: { type: 'string', default: '.bench/finetune' } },
});
exitWithoutCifar('bench:finetune');
const out = resolve(values.out!);
await mkdir(out, { recursive: true });
const train = await packedCifar('train');
const test = await packedCifar('test');

const common = ['--model', 'lenet', '--backend', 'auto', '--batch-size', '64', '--data-val', test, '--num-val-examples', '2000', '--progress-interval', '3600'];
let t0 = performance.now();
await runTrainerQuietly(['train', ...common, '--data-train', train, '--data-part', '0/2', '--num-examples', '10000', '--epochs', '3', '--lr', '0.05', '--out', join(out, 'pretrained')]);
console.log(`pretrained LeNet on 10,000 images of half A, 3 epochs (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
const task = ['--data-train', train, '--data-part', '1/2', '--num-examples', values.examples!, '--epochs', values.epochs!, '--lr', '0.02', '--seed', '11'];
t0 = performance.now();
await runTrainerQuietly(['train', ...common, ...task, '--out', join(out, 'scratch')]);
await runTrainerQuietly(['train', ...common, ...task, '--pretrained', join(out, 'pretrained', 'model'), '--out', join(out, 'finetune')]);
console.log(`scratch and fine-tune on ${values.examples} images of half B, ${values.epochs} epochs each (${((performance.now() - t0) / 1000).toFixed(0)} s)`);

process.stdout.write(await runTrainerQuietly(['compare', join(out, 'scratch'), join(out, 'finetune'), '--labels', 'scratch,fine-tune', '--title', 'LeNet on CIFAR-10: scratch vs fine-tune', '--out', join(out, 'compare.svg')]));
const acc = async (name: string) => (JSON.parse(await readFile(join(out, name, 'metrics.json'), 'utf8')) as { epochs: Array<{ validationAccuracy: number }> }).epochs.map((e) => e.validationAccuracy);
const scratch = await acc('scratch');
const tuned = await acc('finetune');
const points = (i: number) => ((tuned[i] - scratch[i]) * 100).toFixed(1);
console.log(`bench:finetune summary: fine-tune ahead of scratch by ${points(0)} points after epoch 1 and ${points(scratch.length - 1)} after epoch ${scratch.length} (validation ${(tuned.at(-1)! * 100).toFixed(1)}% vs ${(scratch.at(-1)! * 100).toFixed(1)}%); chart ${join(out, 'compare.svg')}`);
