import t from 'tap';
import { centerPlacement, checkCropSpec, eraseCutout, randomPlacement, writeCrop, type Placement } from '../../../../trainer/data/pipeline/augment.js';
import { cacheFromPixels } from '../../../../trainer/data/pipeline/image-cache.js';
import { CIFAR10_MEAN, CIFAR10_STD, computeChannelStats, normalizationTable } from '../../../../trainer/data/pipeline/normalize.js';
import { Rng } from '../../../../trainer/util/rng.js';

// A 3x3 image whose pixel (y, x) is [10k+1, 10k+2, 10k+3] with k = 3y + x: no zeros,
// so padding (0) is told apart from image content.
const H = 3;
const W = 3;
const image = Uint8Array.from({ length: H * W * 3 }, (_, i) => 10 * Math.floor(i / 3) + (i % 3) + 1);
const P = (y: number, x: number): number[] => [0, 1, 2].map((c) => 10 * (3 * y + x) + c + 1);
const Z = [0, 0, 0];
const identity = normalizationTable([0, 0, 0], [1, 1, 1]);

function crop(place: Placement, size: number, table = identity, offset = 0): number[] {
  const src = new Uint8Array(offset + image.length);
  src.set(image, offset);
  const out = new Float32Array(size * size * 3 + 2).fill(-99);
  writeCrop(src, offset, H, W, place, size, table, out, 1);
  if (out[0] !== -99 || out[out.length - 1] !== -99) throw new Error('writeCrop wrote outside its crop');
  return Array.from(out.subarray(1, 1 + size * size * 3));
}

t.test('crop with padding at the top-left', async (t) => {
  t.same(crop({ top: -1, left: -1, flip: false }, 3), [...Z, ...Z, ...Z, ...Z, ...P(0, 0), ...P(0, 1), ...Z, ...P(1, 0), ...P(1, 1)]);
});

t.test('flip mirrors the crop window', async (t) => {
  t.same(crop({ top: -1, left: -1, flip: true }, 3), [...Z, ...Z, ...Z, ...P(0, 1), ...P(0, 0), ...Z, ...P(1, 1), ...P(1, 0), ...Z]);
  t.same(crop({ top: 0, left: 1, flip: true }, 3), [...Z, ...P(0, 2), ...P(0, 1), ...Z, ...P(1, 2), ...P(1, 1), ...Z, ...P(2, 2), ...P(2, 1)]);
});

t.test('crop overhanging the bottom-right, and from an offset in the source', async (t) => {
  t.same(crop({ top: 1, left: 2, flip: false }, 3, identity, 5), [...P(1, 2), ...Z, ...Z, ...P(2, 2), ...Z, ...Z, ...Z, ...Z, ...Z]);
  t.same(crop({ top: 0, left: 0, flip: false }, 2), [...P(0, 0), ...P(0, 1), ...P(1, 0), ...P(1, 1)]);
  t.same(crop({ top: 5, left: 5, flip: false }, 1), Z, 'entirely outside: all padding');
});

t.test('centre crop', async (t) => {
  t.same(centerPlacement(3, 3, 1), { top: 1, left: 1, flip: false });
  t.same(centerPlacement(32, 32, 28), { top: 2, left: 2, flip: false });
  t.same(centerPlacement(32, 32, 32), { top: 0, left: 0, flip: false });
  t.same(crop(centerPlacement(3, 3, 1), 1), P(1, 1));
});

t.test('normalisation is applied to pixels and to padding', async (t) => {
  const table = normalizationTable([1, 2, 3], [2, 4, 8]);
  const [r, g, b] = P(0, 0);
  t.same(crop({ top: -1, left: 0, flip: false }, 1, table), [-0.5, -0.5, -0.375], 'padding is byte 0 normalised');
  t.same(crop({ top: 0, left: 0, flip: false }, 1, table), [(r - 1) / 2, (g - 2) / 4, (b - 3) / 8]);
});

t.test('random placements cover every offset of the padded image', async (t) => {
  const rng = new Rng(7);
  const tops = new Set<number>();
  const lefts = new Set<number>();
  let flips = 0;
  for (let i = 0; i < 2000; i++) {
    const p = randomPlacement(rng, 32, 32, { crop: 28, pad: 4, flip: true });
    tops.add(p.top);
    lefts.add(p.left);
    if (p.flip) flips++;
  }
  const expected = Array.from({ length: 13 }, (_, i) => i - 4);
  t.same([...tops].sort((a, b) => a - b), expected, 'top from -4 to 8');
  t.same([...lefts].sort((a, b) => a - b), expected, 'left from -4 to 8');
  t.ok(flips > 850 && flips < 1150, `about half flipped (${flips}/2000)`);
  const noFlip = new Rng(7);
  for (let i = 0; i < 100; i++) t.equal(randomPlacement(noFlip, 32, 32, { crop: 32, pad: 0, flip: false }).flip, false);
  t.same(randomPlacement(new Rng(1), 32, 32, { crop: 32, pad: 0, flip: false }), { top: 0, left: 0, flip: false }, 'no pad, full crop: fixed');
});

t.test('Cutout draws after the crop and flip, so runs without it keep their placements', async (t) => {
  const plain = new Rng(11);
  const withCutout = new Rng(11);
  const centres = new Set<string>();
  let plainCentres = 0;
  for (let i = 0; i < 3000; i++) {
    const p = randomPlacement(plain, 32, 32, { crop: 32, pad: 4, flip: true });
    if (p.cutoutCentre !== undefined) plainCentres++;
    const c = randomPlacement(withCutout, 32, 32, { crop: 32, pad: 4, flip: true, cutout: 8 });
    if (i < 200) t.same({ top: c.top, left: c.left, flip: c.flip }, p, 'same crop and flip as without Cutout');
    if (c.cutoutCentre === undefined) throw new Error('Cutout on but no centre drawn');
    centres.add(`${c.cutoutCentre.y},${c.cutoutCentre.x}`);
    // Re-align the plain stream: it did not draw the two centre coordinates.
    plain.int(32);
    plain.int(32);
  }
  t.equal(plainCentres, 0, 'no centre when Cutout is off');
  const ys = new Set([...centres].map((k) => Number(k.split(',')[0])));
  t.same([...ys].sort((a, b) => a - b), Array.from({ length: 32 }, (_, i) => i), 'centres cover every row of the crop, and only those');
});

t.test('eraseCutout sets the square around the centre to the normalised mean, clipped at the border', async (t) => {
  const size = 4;
  const erased = (centre: { y: number; x: number }, side: number): string[] => {
    const out = new Float32Array(1 + size * size * 3 + 1).fill(7);
    eraseCutout({ top: 0, left: 0, flip: false, cutoutCentre: centre }, side, size, out, 1);
    t.equal(out[0], 7, 'nothing before the crop');
    t.equal(out[out.length - 1], 7, 'nothing after the crop');
    const cells: string[] = [];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const px = out.subarray(1 + (y * size + x) * 3, 1 + (y * size + x) * 3 + 3);
        if (px.every((v) => v === 0)) cells.push(`${y},${x}`);
        else t.same(Array.from(px), [7, 7, 7], `pixel ${y},${x} is either erased whole or kept`);
      }
    }
    return cells;
  };
  t.same(erased({ y: 2, x: 2 }, 2), ['1,1', '1,2', '2,1', '2,2'], 'side 2 around (2,2): rows and columns 1-2');
  t.same(erased({ y: 0, x: 3 }, 2), ['0,2', '0,3'], 'clipped at the top and right edges');
  t.same(erased({ y: 1, x: 1 }, 3), ['0,0', '0,1', '0,2', '1,0', '1,1', '1,2', '2,0', '2,1', '2,2'], 'odd side: centred');
  t.same(erased({ y: 1, x: 1 }, 0), [], 'side 0: nothing');
  const untouched = new Float32Array(size * size * 3).fill(7);
  eraseCutout({ top: 0, left: 0, flip: false }, 2, size, untouched, 0);
  t.ok(untouched.every((v) => v === 7), 'no centre (validation, Cutout off): nothing');
});

t.test('crop spec checks', async (t) => {
  t.throws(() => checkCropSpec({ crop: 32, pad: 4, flip: true, cutout: 33 }, 32, 32, '--cutout'), /^--cutout: cutout must be an integer from 0 to the crop size 32, got 33/);
  t.throws(() => checkCropSpec({ crop: 32, pad: 4, flip: true, cutout: 1.5 }, 32, 32), /cutout must be an integer/);
  t.doesNotThrow(() => checkCropSpec({ crop: 32, pad: 4, flip: true, cutout: 32 }, 32, 32));
  t.doesNotThrow(() => checkCropSpec({ crop: 40, pad: 4, flip: true }, 32, 32));
  t.throws(() => checkCropSpec({ crop: 41, pad: 4, flip: true }, 32, 32), /crop 41 is larger than the 32x32 image padded by 4/);
  t.throws(() => checkCropSpec({ crop: 0, pad: 4, flip: true }, 32, 32), /crop must be a positive integer/);
  t.throws(() => checkCropSpec({ crop: 28, pad: -1, flip: true }, 32, 32, '--pad'), /^--pad: pad must be a non-negative integer/);
});

t.test('normalisation table and CIFAR-10 defaults', async (t) => {
  t.same(CIFAR10_MEAN, [125.307, 122.961, 113.8575]);
  t.same(CIFAR10_STD, [62.9932, 62.0887, 66.7048]);
  const table = normalizationTable(CIFAR10_MEAN, CIFAR10_STD);
  t.equal(table[125], Math.fround((125 - 125.307) / 62.9932));
  t.equal(table[256 + 255], Math.fround((255 - 122.961) / 62.0887));
  t.equal(table[512], Math.fround(-113.8575 / 66.7048));
  t.throws(() => normalizationTable([0, 0, 0], [1, 0, 1], '--std'), /^--std: std\[1\] must be positive, got 0/);
  t.throws(() => normalizationTable([0, Number.NaN, 0], [1, 1, 1]), /mean\[1\] must be a finite number/);
});

t.test('channel statistics', async (t) => {
  // Two pixels: R 0 and 255, G 10 and 10, B 1 and 3.
  const cache = cacheFromPixels(Uint8Array.from([0, 10, 1, 255, 10, 3]), Int32Array.from([0]), 1, 2);
  const stats = computeChannelStats(cache);
  t.same(stats.mean, [127.5, 10, 2]);
  t.same(stats.std, [127.5, 0, 1]);
  t.throws(() => computeChannelStats(cacheFromPixels(new Uint8Array(0), new Int32Array(0), 1, 1)), /empty/);
});
