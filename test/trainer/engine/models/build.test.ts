import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { buildModel, resnextShape, RESNEXT_PRESETS, type ModelSpec } from '../../../../trainer/engine/models/registry.js';
import { countParams, resnextParamCount } from '../../../../trainer/engine/models/count.js';
import { resnextPlan } from '../../../../trainer/engine/models/resnext.js';
import { UsageError } from '../../../../trainer/util/errors.js';

await tf.setBackend('cpu');

function outputShape(model: tf.LayersModel, h: number, w: number): number[] {
  return tf.tidy(() => (model.predict(tf.zeros([2, h, w, 3])) as tf.Tensor).shape);
}

function layerNames(model: tf.LayersModel): string[] {
  return model.layers.map((l) => l.name);
}

t.test('every model builds and maps [batch, h, w, c] to [batch, classes] logits', async (t) => {
  const models: [ModelSpec, number][] = [
    [{ name: 'lenet', inputShape: [16, 16, 3], numClasses: 10, seed: 1 }, 16],
    [{ name: 'resnet', depth: 8, inputShape: [8, 8, 3], numClasses: 7, seed: 1 }, 8],
    [{ name: 'resnext', preset: 'tiny', inputShape: [8, 8, 3], numClasses: 5, seed: 1 }, 8],
  ];
  for (const [spec, size] of models) {
    const model = buildModel(spec);
    t.same(outputShape(model, size, size), [2, spec.numClasses], `${spec.name} output shape`);
    const last = model.layers[model.layers.length - 1];
    t.equal(last.name, 'fc', `${spec.name} ends in fc`);
    t.equal(last.getClassName(), 'Dense');
    t.equal(last.getConfig().activation, 'linear', `${spec.name} fc gives logits, no softmax`);
    model.dispose();
  }
});

t.test('layers carry stable names that fine-tuning can refer to', async (t) => {
  const lenet = buildModel({ name: 'lenet', inputShape: [28, 28, 3], numClasses: 10, seed: 1 });
  t.same(layerNames(lenet), ['data', 'conv1', 'conv1_tanh', 'pool1', 'conv2', 'conv2_tanh', 'pool2', 'flatten', 'dense1', 'dense1_tanh', 'fc']);
  const resnet = buildModel({ name: 'resnet', depth: 8, inputShape: [8, 8, 3], numClasses: 10, seed: 1 });
  const names = layerNames(resnet);
  for (const n of ['stem_conv', 'stage1_block1_conv1', 'stage2_block1_conv1', 'stage2_block1_proj_conv', 'stage3_block1_out', 'pool_global', 'fc']) {
    t.ok(names.includes(n), `resnet has ${n}`);
  }
  t.notOk(names.includes('stage1_block1_proj_conv'), 'identity shortcut where the shape is kept');
  const resnext = buildModel({ name: 'resnext', preset: 'tiny', inputShape: [8, 8, 3], numClasses: 10, seed: 1 });
  t.equal(resnext.getLayer('stage2_block1_conv2').getClassName(), 'GroupedConv2D');
  t.equal(resnext.getLayer('stage2_block1_conv2').getConfig().groups, 2);
  t.equal(resnext.getLayer('stage2_block1_conv2').getConfig().strides?.toString(), '2,2', 'stride in the grouped 3x3');
  t.ok(layerNames(resnext).includes('stage1_block1_proj_conv'), 'projection where channels grow');
  for (const m of [lenet, resnet, resnext]) m.dispose();
});

t.test('LeNet parameter counts', async (t) => {
  // conv1 5*5*3*20+20, conv2 5*5*20*50+50, dense1 (s*s*50)*500+500, fc 500*10+10,
  // where s is the side after two (conv5, pool2) steps: 28 -> 4, 32 -> 5.
  const expected = (s: number): number => 1520 + 25050 + (s * s * 50 * 500 + 500) + 5010;
  for (const [size, side] of [[28, 4], [32, 5]]) {
    const model = buildModel({ name: 'lenet', inputShape: [size, size, 3], numClasses: 10, seed: 1 });
    const count = countParams(model);
    t.equal(count.total, expected(side), `lenet ${size}x${size}x3 has ${count.total} parameters`);
    model.dispose();
  }
});

t.test('ResNet-20 has about 0.27M parameters', async (t) => {
  const model = buildModel({ name: 'resnet', inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  const count = countParams(model);
  // The paper's option-A ResNet-20 has 269,722 trainable values; the projection
  // shortcuts add 16*32 + 32*64 conv weights and 2*(32+64) batch-norm gamma/beta.
  t.equal(count.trainable, 269722 + 512 + 2048 + 192, `trainable ${count.trainable}`);
  t.ok(Math.abs(count.trainable / 0.27e6 - 1) < 0.01, 'within 1% of 0.27M');
  // Batch-norm channels: stem 16, 6 convs of 16, 6 + 1 of 32, 6 + 1 of 64.
  t.equal(count.nonTrainable, 2 * (16 + 96 + 224 + 448), 'moving mean and variance per batch-norm channel');
  model.dispose();
});

t.test('analytic ResNeXt count equals the built model', async (t) => {
  const shapes = [
    { depth: 11, cardinality: 2, width: 4, baseChannels: 8 },
    { depth: 20, cardinality: 4, width: 2, baseChannels: 8 },
    { depth: 11, cardinality: 1, width: 4, baseChannels: 4 },
  ];
  for (const shape of shapes) {
    const model = buildModel({ name: 'resnext', ...shape, inputShape: [8, 8, 3], numClasses: 10, seed: 1 });
    t.same(resnextParamCount(resnextPlan(shape), 3, 10), countParams(model), JSON.stringify(shape));
    model.dispose();
  }
});

t.test('ResNeXt-29 8x64d and 16x64d match the paper within 1%', async (t) => {
  // Xie et al. 2017, table 7: 34.4M and 68.1M parameters. Building the real nets
  // takes a few seconds and ~0.6 GB, and checks the analytic count at full size.
  for (const [preset, paper] of [['8x64d', 34.4e6], ['16x64d', 68.1e6]] as const) {
    const analytic = resnextParamCount(resnextPlan(RESNEXT_PRESETS[preset]), 3, 10);
    t.ok(Math.abs(analytic.trainable / paper - 1) < 0.01, `${preset}: ${analytic.trainable} trainable vs ${paper}`);
    const model = buildModel({ name: 'resnext', preset, inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
    t.same(countParams(model), analytic, `${preset}: built model has the analytic count`);
    model.dispose();
  }
});

t.test('defaults: resnet depth 20, resnext 29 8x64d, presets overridable', async (t) => {
  const byDefault = buildModel({ name: 'resnet', inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  t.equal(byDefault.name, 'resnet20');
  byDefault.dispose();
  t.same(resnextShape({}), { depth: 29, cardinality: 8, width: 64, baseChannels: 64 });
  t.same(resnextShape({ preset: 'tiny', cardinality: 4 }), { depth: 11, cardinality: 4, width: 8, baseChannels: 16 });
});

t.test('bad specs fail with a UsageError naming the field', async (t) => {
  const base = { inputShape: [32, 32, 3] as [number, number, number], numClasses: 10, seed: 1 };
  const bad: [ModelSpec, RegExp][] = [
    [{ ...base, name: 'resnet', depth: 21 }, /^depth 21 is not 6n\+2 for resnet/],
    [{ ...base, name: 'resnet', depth: 2 }, /^depth 2 is not 6n\+2 for resnet/],
    [{ ...base, name: 'resnext', depth: 30 }, /^depth 30 is not 9n\+2 for resnext/],
    [{ ...base, name: 'resnext', cardinality: 0 }, /^cardinality 0 for resnext must be a positive integer/],
    [{ ...base, name: 'resnext', width: 2.5 }, /^width 2.5 for resnext/],
    [{ ...base, name: 'resnet', cardinality: 8 }, /^cardinality is not used by resnet/],
    [{ ...base, name: 'lenet', depth: 20 }, /^depth is not used by lenet/],
    [{ ...base, name: 'vgg' as ModelSpec['name'] }, /^name 'vgg' is not a model: use one of lenet, resnet, resnext/],
    [{ ...base, name: 'resnext', preset: 'huge' as ModelSpec['preset'] }, /^preset 'huge' is not a resnext preset/],
    [{ ...base, name: 'lenet', inputShape: [32, 32] as unknown as [number, number, number] }, /^inputShape \[32,32\] must be/],
    [{ ...base, name: 'lenet', inputShape: [8, 8, 3] }, /^inputShape \[8, 8, 3\] is too small for lenet/],
    [{ ...base, name: 'lenet', numClasses: 1 }, /^numClasses 1 must be/],
    [{ ...base, name: 'lenet', seed: 0.5 }, /^seed 0.5 must be an integer/],
  ];
  for (const [spec, message] of bad) {
    t.throws(() => buildModel(spec), { name: UsageError.name, message }, JSON.stringify(spec));
  }
});
