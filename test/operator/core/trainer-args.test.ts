import t from 'tap';
import { withDefaults } from '../../../operator/api/defaults.js';
import type { CifarTrainingJobSpec } from '../../../operator/api/types.js';
import { FIELDS_NOT_PASSED_AS_FLAGS, TRAINER_FLAGS, trainerArgs } from '../../../operator/core/trainer-args.js';
import { rootSchema, schemaFields, subSchema } from '../../helpers/crd.js';
import { flagValue } from '../../helpers/flag-args.js';

const base: CifarTrainingJobSpec = { image: 'trainer:1', model: { architecture: 'resnext' }, data: { train: 's3://b/train.rec' } };

function args(spec: Partial<CifarTrainingJobSpec>): string[] {
  return trainerArgs(withDefaults({ ...base, ...spec }));
}

// One row per field: the spec that sets it, the flag, and the value the trainer must see.
const cases: Array<[string, Partial<CifarTrainingJobSpec>, string, string | true]> = [
  ['model.architecture', {}, '--model', 'resnext'],
  ['model.depth', { model: { architecture: 'resnext', depth: 29 } }, '--depth', '29'],
  ['model.cardinality', { model: { architecture: 'resnext', cardinality: 16 } }, '--cardinality', '16'],
  ['model.width', { model: { architecture: 'resnext', width: 4 } }, '--width', '4'],
  ['model.numClasses', { model: { architecture: 'resnext', numClasses: 100 } }, '--num-classes', '100'],
  ['pretrained.uri', { pretrained: { uri: 's3://b/m/' } }, '--pretrained', 's3://b/m/'],
  ['pretrained.layerBeforeFullc', { pretrained: { uri: '/m', layerBeforeFullc: 'pool_global' } }, '--layer-before-fullc', 'pool_global'],
  ['pretrained.freeze', { pretrained: { uri: '/m', freeze: true } }, '--freeze', true],
  ['pretrained.lrMultiplier', { pretrained: { uri: '/m', lrMultiplier: 0.1 } }, '--pretrained-lr-mult', '0.1'],
  ['data.train', {}, '--data-train', 's3://b/train.rec'],
  ['data.validation', { data: { train: '/t', validation: '/v' } }, '--data-val', '/v'],
  ['data.format', { data: { train: '/t', format: 'recordio' } }, '--data-format', 'recordio'],
  ['data.imageShape', { data: { train: '/t', imageShape: [3, 28, 28] } }, '--image-shape', '3,28,28'],
  ['data.numExamples', { data: { train: '/t', numExamples: 50000 } }, '--num-examples', '50000'],
  ['hyperparameters.batchSize', { hyperparameters: { batchSize: 64 } }, '--batch-size', '64'],
  ['hyperparameters.epochs', { hyperparameters: { epochs: 100 } }, '--epochs', '100'],
  ['hyperparameters.learningRate', { hyperparameters: { learningRate: 0.1 } }, '--lr', '0.1'],
  ['hyperparameters.momentum', { hyperparameters: { momentum: 0.8 } }, '--momentum', '0.8'],
  ['hyperparameters.weightDecay', { hyperparameters: { weightDecay: 0.0005 } }, '--wd', '0.0005'],
  ['hyperparameters.nesterov', { hyperparameters: { nesterov: true } }, '--nesterov', true],
  ['hyperparameters.labelSmoothing', { hyperparameters: { labelSmoothing: 0.1 } }, '--label-smoothing', '0.1'],
  ['hyperparameters.cutout', { hyperparameters: { cutout: 8 } }, '--cutout', '8'],
  ['hyperparameters.seed', { hyperparameters: { seed: 42 } }, '--seed', '42'],
  ['hyperparameters.schedule.type', { hyperparameters: { schedule: { type: 'cosine' } } }, '--lr-schedule', 'cosine'],
  ['hyperparameters.schedule.stepEpochs', { hyperparameters: { schedule: { stepEpochs: [30, 60] } } }, '--lr-step-epochs', '30,60'],
  ['hyperparameters.schedule.factor', { hyperparameters: { schedule: { factor: 0.5 } } }, '--lr-factor', '0.5'],
  ['hyperparameters.schedule.warmupEpochs', { hyperparameters: { schedule: { warmupEpochs: 2 } } }, '--warmup-epochs', '2'],
  ['checkpoint.uri', { checkpoint: { uri: 's3://b/c/' } }, '--checkpoint', 's3://b/c/'],
  ['checkpoint.everyEpochs', { checkpoint: { everyEpochs: 5 } }, '--checkpoint-every', '5'],
  ['output.uri', { output: { uri: 's3://b/runs/x/' } }, '--out', 's3://b/runs/x/'],
  ['backend', { backend: 'wasm' }, '--backend', 'wasm'],
  ['metricsPort', { metricsPort: 9500 }, '--metrics-port', '9500'],
];

t.test('each spec field reaches the trainer as its flag', async (t) => {
  for (const [field, spec, flag, expected] of cases) {
    t.equal(flagValue(args(spec), flag), expected, `${field} -> ${flag}`);
  }
});

t.test('defaults are passed explicitly; unset optional fields and false booleans are left out', async (t) => {
  const list = args({});
  t.equal(list[0], 'train', 'the subcommand comes first');
  t.equal(flagValue(list, '--batch-size'), '128');
  t.equal(flagValue(list, '--lr'), '0.05');
  t.equal(flagValue(list, '--image-shape'), '3,32,32');
  t.equal(flagValue(list, '--backend'), 'auto');
  for (const absent of ['--depth', '--pretrained', '--data-val', '--nesterov', '--checkpoint', '--resume', '--lr-step-epochs']) {
    t.equal(flagValue(list, absent), undefined, `${absent} absent`);
  }
});

t.test('a checkpoint location makes every start a resume', async (t) => {
  t.equal(flagValue(args({ checkpoint: { uri: '/ckpt' } }), '--resume'), true);
});

t.test('every spec field is either a flag or documented as reaching the pod another way', async (t) => {
  const flagged = new Set(TRAINER_FLAGS.map((r) => r.field));
  const other = Object.keys(FIELDS_NOT_PASSED_AS_FLAGS);
  const covered = (path: string): boolean => flagged.has(path) || other.some((o) => path === o || path.startsWith(`${o}.`) || path.startsWith(`${o}[]`));
  const fields = schemaFields(subSchema(rootSchema(), 'spec'));
  const leaves = fields.filter((f) => !fields.some((g) => g.path.startsWith(`${f.path}.`) || g.path.startsWith(`${f.path}[]`)));
  t.same(leaves.map((f) => f.path).filter((p) => !covered(p)), [], 'spec fields nobody passes on');
  t.same([...flagged].filter((f) => !fields.some((g) => g.path === f)), [], 'flags for fields the schema does not have');
  t.equal(new Set(cases.map((c) => c[0])).size, flagged.size, 'this test has a case for every flagged field');
});

t.test('trainer messages name the spec field behind each flag', async (t) => {
  const { annotateTrainerFlags } = await import('../../../operator/core/trainer-args.js');
  t.equal(
    annotateTrainerFlags('cifar-trainer train: --pretrained s3://b/m: cannot read model s3://b/m/model.json: NoSuchKey'),
    'cifar-trainer train: --pretrained (spec.pretrained.uri) s3://b/m: cannot read model s3://b/m/model.json: NoSuchKey',
  );
  t.equal(annotateTrainerFlags('--batch-size 512 is larger than the 100 training images'), '--batch-size (spec.hyperparameters.batchSize) 512 is larger than the 100 training images');
  t.equal(annotateTrainerFlags('--not-a-flag stays as it is'), '--not-a-flag stays as it is');
});
