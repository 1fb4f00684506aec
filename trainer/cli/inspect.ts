import type { Command, CommandIO } from './command.js';
import { parseFlags, partFlag } from './command.js';
import { UsageError } from '../util/errors.js';
import { openSource, withSuffix } from '../io/uri.js';
import { resolveS3Config } from '../io/s3-config.js';
import { readRecords } from '../data/recordio/reader.js';
import { partRange } from '../data/recordio/shard.js';
import { IndexedRecordIO } from '../data/recordio/indexed.js';
import { describeRecord, SummaryAccumulator } from '../data/inspect/record-summary.js';
import { s3Flags, s3Options } from './s3-flags.js';

const usage = `Usage: cifar-trainer inspect FILE.rec [--idx FILE.idx] [--part I/N] [--json]

Reads a RecordIO file (local path, file:// or s3://) and describes its records.

Options:
  --idx URI        index file to check against the records (default: FILE.idx when it exists)
  --part I/N       only part I of N, with MXNet's part_index/num_parts semantics
  --json           one JSON object per record per line:
                   {"index","offset","id","id2","labels","payloadBytes","payloadSha256"}
                   (index counts records from 0 in the order read; with --part, within the part;
                   payloadBytes/payloadSha256 cover the image bytes after the MXNet image header)
  --shards N,N,... shard sizes to show in the summary (default 2,4,8)
${s3Flags.usage}`;

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'describe a RecordIO file: records, labels, sizes, shards (or JSON lines)',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { values, positionals } = parseFlags('inspect', argv, { idx: { type: 'string' }, part: { type: 'string' }, json: { type: 'boolean' }, shards: { type: 'string' }, ...s3Flags.options }, true);
    if (positionals.length !== 1) throw new UsageError(`inspect: expected exactly one FILE.rec, got ${positionals.length}`);
    const recUri = positionals[0];
    const part = partFlag('part', values.part);
    const shardCounts = (values.shards ?? '2,4,8').split(',').map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--shards: '${s}' is not a positive integer`);
      return n;
    });
    const s3 = resolveS3Config(s3Options(values), io.env);
    const source = openSource(recUri, s3);
    try {
      const total = await source.size();
      const range = part ? await partRange(source, part.index, part.count) : { start: 0, end: total };
      const summary = new SummaryAccumulator();
      let index = 0;
      for await (const { offset, payload } of readRecords(source, range)) {
        if (values.json) io.stdout.write(`${JSON.stringify(describeRecord(index, offset, payload))}\n`);
        else summary.add(offset, payload);
        index++;
      }
      if (values.json) return 0;

      const lines: string[] = [];
      lines.push(`file:          ${recUri} (${total} bytes)`);
      if (part) lines.push(`part:          ${part.index}/${part.count}: bytes [${range.start}, ${range.end})`);
      lines.push(`records:       ${summary.records} (${summary.imageRecords} MXNet image records)`);
      if (summary.records > 0) {
        lines.push(`payload bytes: total ${summary.payloadBytes}, min ${summary.minPayload}, mean ${(summary.payloadBytes / summary.records).toFixed(1)}, max ${summary.maxPayload}`);
      }
      if (summary.formats.size > 0) lines.push(`image formats: ${[...summary.formats].map(([f, n]) => `${f} ${n}`).join(', ')}`);
      if (summary.labelCounts.size > 0) {
        lines.push('records per label:');
        const sorted = [...summary.labelCounts].sort(([a], [b]) => compareLabels(a, b));
        for (const [label, count] of sorted) lines.push(`  ${label.padStart(6)}  ${count}`);
      }
      if (!part && summary.records > 0) {
        lines.push('shards (records per part, MXNet part semantics):');
        for (const n of shardCounts) {
          const counts: number[] = [];
          for (let i = 0; i < n; i++) {
            const r = await partRange(source, i, n);
            counts.push(summary.countInRange(r.start, r.end));
          }
          lines.push(`  ${String(n).padStart(3)} parts: ${counts.join(' ')}`);
        }
      }
      lines.push(...(await indexReport(recUri, values.idx, summary, s3)));
      io.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    } finally {
      await source.close();
    }
  },
};

function compareLabels(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
}

/** Checks the .idx against the scanned records: same count, every offset a record start. */
async function indexReport(recUri: string, idxFlag: string | undefined, summary: SummaryAccumulator, s3: ReturnType<typeof resolveS3Config>): Promise<string[]> {
  const idxUri = idxFlag ?? withSuffix(recUri, '.idx');
  const idxSource = openSource(idxUri, s3);
  const rec = openSource(recUri, s3);
  try {
    try {
      await idxSource.size();
    } catch (err) {
      if (idxFlag) throw err;
      return [`index:         none at ${idxUri}`];
    }
    const indexed = await IndexedRecordIO.open(rec, idxSource);
    const entries = indexed.entries();
    const known = new Set(summary.offsets);
    const stray = entries.filter((e) => !known.has(e.offset));
    if (stray.length > 0) {
      const first = stray[0];
      return [`index:         ${idxUri}: ${entries.length} entries, ${stray.length} do not point at a record start (first: key ${first.key}, offset ${first.offset})`];
    }
    const missing = summary.records - new Set(entries.map((e) => e.offset)).size;
    return [`index:         ${idxUri}: ${entries.length} entries, all at record starts${missing > 0 ? `; ${missing} records are not indexed` : ''}`];
  } finally {
    await idxSource.close();
    await rec.close();
  }
}
