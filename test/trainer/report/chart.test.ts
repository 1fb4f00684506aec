import t from 'tap';
import { renderLineChart, ticks } from '../../../trainer/report/line-chart.js';
import { accuracySeries } from '../../../trainer/engine/train/outputs.js';

t.test('ticks are round numbers covering the range; integer ticks for epochs', async (t) => {
  t.same(ticks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  t.same(ticks(1, 5, 8), [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]);
  t.same(ticks(1, 5, 8, true), [1, 2, 3, 4, 5]);
});

t.test('a run is drawn as a dashed training and a solid validation line in one colour', async (t) => {
  const epochs = [0, 1].map((epoch) => ({ epoch, trainLoss: 1, trainAccuracy: [0.3, 0.4][epoch], validationLoss: 1, validationAccuracy: [0.35, 0.45][epoch], imagesPerSecond: 1, seconds: 1, learningRate: 0.1 }));
  const [train, validation] = accuracySeries('scratch', epochs, 1);
  t.equal(train.color, validation.color);
  t.ok(train.dashed && !validation.dashed);
  t.same(validation.points, [[1, 0.35], [2, 0.45]]);
  const svg = renderLineChart([train, validation], { title: 'a <b> & c', xLabel: 'epoch', yLabel: 'accuracy', yRange: [0, 1] });
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, /a &lt;b&gt; &amp; c/, 'text is escaped');
  t.equal((svg.match(/<path /g) ?? []).length, 2, 'one path per series');
  t.match(svg, /stroke-dasharray/);
});
