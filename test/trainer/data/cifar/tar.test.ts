import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LocalFileSource } from '../../../../trainer/io/local-source.js';
import { DataFormatError } from '../../../../trainer/util/errors.js';
import { listTar, memberPathParts, readTar, type TarMember } from '../../../../trainer/data/cifar/tar.js';

/** A minimal tar writer, so that the reader is tested on bytes we control exactly. */
function header(name: string, size: number, type: string, prefix = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(prefix, 345, 155, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

function pad(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

function entry(name: string, data: Buffer | string, type = '0', prefix = ''): Buffer {
  const bytes = Buffer.from(data);
  return Buffer.concat([header(name, bytes.length, type, prefix), pad(bytes)]);
}

function paxRecord(key: string, value: string): string {
  // The length counts bytes, itself included.
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body);
  let length = bodyBytes + 1;
  while (String(length).length + bodyBytes !== length) length++;
  return `${length}${body}`;
}

const END = Buffer.alloc(1024);
const longName = `train/${'very-long-class-name-'.repeat(6)}/${'x'.repeat(120)}.jpg`;
const paxName = `test/${'p'.repeat(150)}/é-${'y'.repeat(60)}.png`;
const big = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff));

function sampleArchive(): Buffer {
  return Buffer.concat([
    entry('top/', '', '5'),
    entry('top/a.txt', 'hello'),
    entry('b.bin', big, '0', 'top/deep/prefix'),
    entry('././@LongLink', longName + '\0', 'L'),
    entry(longName.slice(0, 99), 'long'),
    entry('link', '', '2'),
    entry('PaxHeaders/x', paxRecord('path', paxName) + paxRecord('mtime', '1.5'), 'x'),
    entry('short-pax-fallback', 'pax'),
    entry('empty', ''),
    END,
  ]);
}

async function readAll(path: string, select?: (e: { name: string }) => boolean): Promise<TarMember[]> {
  const source = new LocalFileSource(path);
  try {
    const out: TarMember[] = [];
    for await (const m of readTar(source, select ? { select } : {})) out.push(m);
    return out;
  } finally {
    await source.close();
  }
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return undefined;
}

t.test('reads ustar prefix, GNU long names, pax paths and skips non-files, plain and gzipped', async (t) => {
  const dir = t.testdir();
  const plain = join(dir, 'a.tar');
  const gz = join(dir, 'a.tar.gz');
  writeFileSync(plain, sampleArchive());
  writeFileSync(gz, gzipSync(sampleArchive()));
  for (const path of [plain, gz]) {
    const members = await readAll(path);
    t.same(
      members.map((m) => m.name),
      ['top/a.txt', 'top/deep/prefix/b.bin', longName, paxName, 'empty'],
      `${path}: names in order`,
    );
    t.equal(members[0].bytes.toString(), 'hello');
    t.ok(members[1].bytes.equals(big), 'a member spanning many blocks and chunks is intact');
    t.equal(members[2].bytes.toString(), 'long');
    t.equal(members[3].bytes.toString(), 'pax');
    t.equal(members[4].size, 0);
    t.equal(members[0].offset, 512, 'offset is where the member header starts');
    t.equal(members[1].offset, 1536);
    t.equal(members[2].offset, 1536 + 512 + 70_144, 'a long-name member starts at its L header');
  }
});

t.test('select skips unwanted members and listTar reads no data', async (t) => {
  const path = join(t.testdir(), 'a.tar.gz');
  writeFileSync(path, gzipSync(sampleArchive()));
  const picked = await readAll(path, (e) => e.name.endsWith('.bin'));
  t.same(picked.map((m) => m.name), ['top/deep/prefix/b.bin']);
  const source = new LocalFileSource(path);
  const listed: string[] = [];
  for await (const e of listTar(source)) listed.push(`${e.name}:${e.size}`);
  await source.close();
  t.same(listed, ['top/a.txt:5', 'top/deep/prefix/b.bin:70000', `${longName}:4`, `${paxName}:3`, 'empty:0']);
});

t.test('a corrupt header checksum is an error naming the archive and offset', async (t) => {
  const archive = sampleArchive();
  const binHeader = 1536; // after top/ (one block) and top/a.txt (header and one data block)
  archive[binHeader + 10] ^= 0x01; // flip a bit in b.bin's header name
  const path = join(t.testdir(), 'bad.tar.gz');
  writeFileSync(path, gzipSync(archive));
  const err = await errorOf(readAll(path));
  t.type(err, DataFormatError);
  t.equal((err as DataFormatError).offset, binHeader);
  t.match((err as Error).message, `${path}: at byte offset ${binHeader}: tar header of "b.bin`);
  t.match((err as Error).message, /checksum mismatch/);
});

t.test('truncated archives and corrupt gzip are errors with offsets', async (t) => {
  const dir = t.testdir();
  const archive = sampleArchive();
  const cut = join(dir, 'cut.tar');
  writeFileSync(cut, archive.subarray(0, 2048 + 1000)); // inside b.bin's data, which starts at 2048
  const err = await errorOf(readAll(cut));
  t.type(err, DataFormatError);
  t.match((err as Error).message, /member "top\/deep\/prefix\/b.bin" is truncated: archive ends after 1000 of its 70000 bytes/);
  t.equal((err as DataFormatError).offset, 2048 + 1000);

  const gz = gzipSync(archive);
  const badGz = join(dir, 'bad.tar.gz');
  writeFileSync(badGz, gz.subarray(0, gz.length - 40));
  const gzErr = await errorOf(readAll(badGz));
  t.type(gzErr, DataFormatError);
  t.match((gzErr as Error).message, /corrupt gzip stream/);
});

t.test('breaking out early stops reading', async (t) => {
  const path = join(t.testdir(), 'a.tar.gz');
  writeFileSync(path, gzipSync(sampleArchive()));
  const source = new LocalFileSource(path);
  let seen = 0;
  for await (const m of readTar(source)) {
    seen++;
    t.equal(m.name, 'top/a.txt');
    break;
  }
  await source.close();
  t.equal(seen, 1);
});

t.test('reads archives written by the system tar with long names (GNU and pax)', async (t) => {
  const dir = t.testdir();
  const tree = join(dir, 'tree');
  const deep = join(tree, 'd'.repeat(80), 'e'.repeat(80));
  mkdirSync(deep, { recursive: true });
  const fileName = `${'f'.repeat(90)}.png`;
  writeFileSync(join(deep, fileName), 'png-bytes');
  writeFileSync(join(tree, 'small.jpg'), 'jpg');
  for (const format of ['gnu', 'pax']) {
    const out = join(dir, `${format}.tar.gz`);
    try {
      execFileSync('tar', [`--format=${format}`, '-czf', out, '-C', tree, '.'], { stdio: 'pipe' });
    } catch {
      t.comment(`system tar cannot write --format=${format}; not checked`);
      continue;
    }
    const members = await readAll(out);
    const names = members.map((m) => memberPathParts(m.name).join('/')).sort();
    t.same(names, [`${'d'.repeat(80)}/${'e'.repeat(80)}/${fileName}`, 'small.jpg'], format);
    t.equal(members.find((m) => m.name.endsWith('.png'))?.bytes.toString(), 'png-bytes');
  }
});

t.test('memberPathParts drops "." and empty components', async (t) => {
  t.same(memberPathParts('./a//b/./c.jpg'), ['a', 'b', 'c.jpg']);
  t.same(memberPathParts('x/'), ['x']);
});
