import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { PNG } from 'pngjs';
import { decodeImage, sniffImageFormat } from '../../../../trainer/data/image/decode.js';
import { encodeJpeg, encodePng } from '../../../../trainer/data/image/encode.js';
import { DataFormatError } from '../../../../trainer/util/errors.js';
import { datasetPath, datasetSkip } from '../../../helpers/datasets.js';

/** A smooth test picture (JPEG-friendly), w x h RGB. */
function gradient(w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      px[o] = 40 + x * 4;
      px[o + 1] = 60 + y * 3;
      px[o + 2] = 200 - x - y;
    }
  }
  return px;
}

/** A PNG of the given colour type and depth from RGBA samples (0..255, or 0..65535 for 16-bit). */
function pngOf(width: number, height: number, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16, rgba: number[]): Uint8Array {
  const png = new PNG({ width, height });
  // pngjs reads 16-bit input as native-endian 16-bit samples.
  png.data = bitDepth === 16 ? Buffer.from(Uint16Array.from(rgba).buffer) : Buffer.from(rgba);
  return PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
}

t.test('sniffs formats by magic bytes', async (t) => {
  t.equal(sniffImageFormat(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0])), 'jpeg');
  t.equal(sniffImageFormat(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d])), 'png');
  t.equal(sniffImageFormat(Uint8Array.from([0x47, 0x49, 0x46])), undefined);
  t.equal(sniffImageFormat(new Uint8Array(0)), undefined);
});

t.test('PNG round trip is exact', async (t) => {
  const px = gradient(7, 5);
  px[0] = 0;
  px[1] = 255;
  const img = decodeImage(encodePng(px, 7, 5), 'mem.png');
  t.equal(img.width, 7);
  t.equal(img.height, 5);
  t.same(Array.from(img.data), Array.from(px));
});

t.test('JPEG round trip is close at high quality', async (t) => {
  const px = gradient(32, 32);
  const img = decodeImage(encodeJpeg(px, 32, 32, 95), 'mem.jpg');
  t.equal(img.width, 32);
  t.equal(img.height, 32);
  t.equal(img.data.length, 32 * 32 * 3);
  let err = 0;
  for (let i = 0; i < px.length; i++) err += Math.abs(img.data[i] - px[i]);
  t.ok(err / px.length < 3, `mean absolute error ${err / px.length} < 3`);
});

t.test('grayscale, grey+alpha, RGBA and 16-bit PNGs become 8-bit RGB', async (t) => {
  const grey = [10, 10, 10, 255, 200, 200, 200, 255];
  t.same(Array.from(decodeImage(pngOf(2, 1, 0, 8, grey), 'g.png').data), [10, 10, 10, 200, 200, 200], 'grayscale expanded');
  const greyAlpha = [10, 10, 10, 255, 200, 200, 200, 0];
  t.same(Array.from(decodeImage(pngOf(2, 1, 4, 8, greyAlpha), 'ga.png').data), [10, 10, 10, 200, 200, 200], 'grey+alpha');
  const colour = [1, 2, 3, 255, 250, 128, 7, 0];
  t.same(Array.from(decodeImage(pngOf(2, 1, 6, 8, colour), 'rgba.png').data), [1, 2, 3, 250, 128, 7], 'alpha dropped, colour kept');
  const deep = colour.map((v) => v * 257);
  t.same(Array.from(decodeImage(pngOf(2, 1, 6, 16, deep), 'rgba16.png').data), [1, 2, 3, 250, 128, 7], '16-bit scaled to 8');
});

t.test('bad input is a DataFormatError naming where it came from', async (t) => {
  const jpg = encodeJpeg(gradient(16, 16), 16, 16, 80);
  const png = encodePng(gradient(16, 16), 16, 16);
  const cases: [Uint8Array, string, RegExp][] = [
    [jpg.subarray(0, Math.floor(jpg.length / 2)), 'shard-3.rec#17', /^shard-3\.rec#17: corrupt JPEG image/],
    [png.subarray(0, 40), 'cat/0001.png', /^cat\/0001\.png: corrupt PNG image/],
    [Uint8Array.from([0x47, 0x49, 0x46, 0x38]), 'x.gif', /^x\.gif: not a JPEG or PNG image \(starts with 47 49 46 38\)/],
    [new Uint8Array(0), 'empty', /^empty: not a JPEG or PNG image/],
  ];
  for (const [bytes, where, message] of cases) {
    t.throws(() => decodeImage(bytes, where), message, where);
    try {
      decodeImage(bytes, where);
    } catch (err) {
      t.ok(err instanceof DataFormatError && err.uri === where, `${where}: DataFormatError with uri`);
    }
  }
  const flipped = Uint8Array.from(png);
  flipped[png.length - 20] ^= 0xff; // inside IDAT: the CRC no longer matches
  t.throws(() => decodeImage(flipped, 'crc.png'), /^crc\.png: corrupt PNG image/);
});

t.test('CIFAR-10 JPEGs from the shared tarball decode to 32x32 RGB', { skip: datasetSkip('cifar10-jpeg.tar.gz') }, async (t) => {
  const dir = t.testdir({});
  execFileSync('tar', ['xzf', datasetPath('cifar10-jpeg.tar.gz'), '-C', dir, '--wildcards', 'train/airplane/000*']);
  const classDir = join(dir, 'train', 'airplane');
  const files = readdirSync(classDir).sort();
  t.equal(files.length, 10, 'ten files train/airplane/0000..0009.jpg');
  for (const f of files) {
    const img = decodeImage(readFileSync(join(classDir, f)), f);
    t.equal(`${img.width}x${img.height}:${img.data.length}`, '32x32:3072', f);
  }
});
