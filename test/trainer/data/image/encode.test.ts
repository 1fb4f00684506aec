import t from 'tap';
import { PNG } from 'pngjs';
import { encodeJpeg, encodePng } from '../../../../trainer/data/image/encode.js';
import { UsageError } from '../../../../trainer/util/errors.js';

const px = Uint8Array.from({ length: 4 * 2 * 3 }, (_, i) => i * 10);

t.test('PNG is written as 8-bit truecolour without alpha', async (t) => {
  const bytes = encodePng(px, 4, 2);
  const png = PNG.sync.read(Buffer.from(bytes));
  t.equal(png.colorType, 2);
  t.equal(png.depth, 8);
  t.equal(png.alpha, false);
  t.equal(png.width, 4);
  t.equal(png.height, 2);
});

t.test('JPEG starts with SOI, ends with EOI, and quality changes the size', async (t) => {
  const big = Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 7919) % 251);
  const lo = encodeJpeg(big, 32, 32, 20);
  const hi = encodeJpeg(big, 32, 32, 95);
  t.same(Array.from(hi.subarray(0, 2)), [0xff, 0xd8]);
  t.same(Array.from(hi.subarray(hi.length - 2)), [0xff, 0xd9]);
  t.ok(hi.length > lo.length, `quality 95 (${hi.length} B) larger than quality 20 (${lo.length} B)`);
});

t.test('bad arguments are UsageErrors', async (t) => {
  t.throws(() => encodeJpeg(px, 4, 2, 0), UsageError);
  t.throws(() => encodeJpeg(px, 4, 2, 101), /quality must be an integer from 1 to 100/);
  t.throws(() => encodePng(px, 4, 3), /expected 36 bytes of RGB pixels for 4x3, got 24/);
  t.throws(() => encodePng(px, 0, 2), /positive integers/);
});
