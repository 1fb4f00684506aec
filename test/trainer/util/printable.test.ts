import t from 'tap';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePng } from '../../../trainer/data/image/encode.js';
import { printable, printableLine } from '../../../trainer/util/printable.js';
import { HOSTILE_RSS_LIMIT_BYTES, mb, runTrainerMeasured } from '../../helpers/peak-rss.js';

const ESC = '\u001b';
// Nothing a terminal acts on may reach the output: C0/C1 controls (CR, LF, ESC, ...) and bidi overrides.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

t.test('printable escapes controls, separators, bidi overrides and backslashes; printableLine keeps backslashes', async (t) => {
  t.equal(printable(`red${ESC}[31m\nFAKE\r\t\u202eevil\\x`), 'red\\x1b[31m\\nFAKE\\r\\t\\u202eevil\\\\x');
  t.equal(printable('airplane'), 'airplane', 'ordinary names are unchanged');
  t.equal(printable('chat-été 猫'), 'chat-été 猫', 'non-ASCII letters are printable');
  t.equal(printableLine(`a\\b${ESC}\n`), 'a\\b\\x1b\\n');
});

t.test('pack prints class folder names and error paths with their control characters escaped', async (t) => {
  const dir = t.testdir();
  const png = encodePng(new Uint8Array(4 * 4 * 3).fill(7), 4, 4);
  const evil = `cat${ESC}[2J${ESC}[31m`;
  const forged = 'dog\nlevel=info msg="all checks passed"';
  for (const cls of [evil, forged]) {
    await mkdir(join(dir, 'good', 'train', cls), { recursive: true });
    await writeFile(join(dir, 'good', 'train', cls, 'a.png'), png);
  }
  const ok = await runTrainerMeasured(['pack', '--from', join(dir, 'good'), '--out', join(dir, 'out'), '--encoding', 'png']);
  t.equal(ok.code, 0, ok.stderr);
  t.notMatch(ok.stdout, RAW_CONTROL, 'no raw control character on stdout');
  t.match(ok.stdout, 'cat\\x1b[2J\\x1b[31m', 'the escape sequence is shown, not executed');
  t.equal(ok.stdout.split('\n').filter((l) => l.startsWith('labels:')).length, 1, 'the labels stay on one line');
  t.match(ok.stdout, 'dog\\nlevel=info', 'a newline in a name cannot start a fake log line');
  t.ok(ok.peakRss < HOSTILE_RSS_LIMIT_BYTES, `peak RSS ${mb(ok.peakRss)} < 600 MB`);

  // A file that claims to be a PNG in a hostile folder: the error names it, escaped.
  await mkdir(join(dir, 'bad', 'train', evil), { recursive: true });
  await writeFile(join(dir, 'bad', 'train', evil, `x${ESC}]0;pwned${'\u0007'}.png`), 'not an image');
  const bad = await runTrainerMeasured(['pack', '--from', join(dir, 'bad'), '--out', join(dir, 'out2'), '--encoding', 'png']);
  t.equal(bad.code, 1, 'bad data fails');
  t.match(bad.stderr, 'not a JPEG or PNG');
  t.notMatch(bad.stderr, RAW_CONTROL, 'the error line carries no raw control character');
  t.match(bad.stderr, 'x\\x1b]0;pwned\\x07.png', 'the file is named, escaped');
  t.ok(bad.peakRss < HOSTILE_RSS_LIMIT_BYTES, `peak RSS ${mb(bad.peakRss)} < 600 MB`);
});
