/**
 * An interrupted pack leaves nothing behind (issue 14, finding 13): SIGINT or SIGTERM in
 * the middle of writing removes the hidden temporary .rec and .idx beside the destination.
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePng } from '../../../trainer/data/image/encode.js';
import { Rng } from '../../../trainer/util/rng.js';
import { waitFor } from '../../helpers/dist-cluster.js';
import { runTrainerMeasured, underLimit } from '../../helpers/peak-rss.js';

t.test('SIGINT and SIGTERM stop pack mid-write and remove its temporary files', async (t) => {
  const dir = t.testdir();
  const src = join(dir, 'src', 'train', 'noise');
  await mkdir(src, { recursive: true });
  // Noise does not compress: each PNG is about 12 KB, so the writer's first 1 MiB flush
  // (which creates the temporary file) comes after a few dozen of the 2,000 images.
  const rng = new Rng(7);
  for (let i = 0; i < 2000; i++) {
    const px = new Uint8Array(64 * 64 * 3).map(() => Math.floor(rng.next() * 256));
    await writeFile(join(src, `${String(i).padStart(5, '0')}.png`), encodePng(px, 64, 64));
  }
  const out = join(dir, 'out');
  const temporary = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.tmp'));
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    let sent = false;
    const run = await runTrainerMeasured(['pack', '--from', join(dir, 'src'), '--out', out, '--encoding', 'png'], {}, 180_000, (child) => {
      waitFor(() => temporary().length > 0, 120_000, 'the temporary .rec to appear')
        .then(() => {
          sent = child.kill(signal);
        })
        .catch(() => undefined);
    });
    t.ok(sent, `${signal} sent while the temporary file existed`);
    t.equal(run.code, code, `${signal}: exit ${code}; ${run.stderr.slice(-300)}`);
    t.match(run.stderr, `pack: stopped by ${signal}; the partial output was removed`);
    t.same(temporary(), [], `${signal}: no temporary file left beside the destination`);
    t.notOk(existsSync(`${out}.rec`) || existsSync(`${out}.idx`), `${signal}: no destination file either`);
    underLimit(t, run, `pack stopped by ${signal}`);
  }
});
