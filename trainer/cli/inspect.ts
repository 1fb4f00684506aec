import type { Command, CommandIO } from './command.js';
import { parseFlags, partFlag } from './command.js';
import { DataFormatError, UsageError } from '../util/errors.js';
import { printableLine } from '../util/printable.js';
import { openSource, withSuffix } from '../io/uri.js';
import { resolveS3Config } from '../io/s3-config.js';
import { readRecords } from '../data/recordio/reader.js';
import { partRange } from '../data/recordio/shard.js';
import { IndexedRecordIO } from '../data/recordio/indexed.js';
import { describeRecord, SummaryAccumulator } from '../data/inspect/record-summary.js';
import { s3Flags, s3Options } from './s3-flags.js';

/** Each listed shard count costs two small reads per part, so both are bounded. */
const MAX_SHARDS = 4096;
const MAX_SHARD_LISTS = 16;

const usage = `Usage: cifar-trainer inspect FILE.rec [--idx FILE.idx] [--part I/N] [--json]

Reads a RecordIO file (local path, file:// or s3://) and describes its records.

Options:
  --idx URI        index file to check against the records (default: FILE.idx when it exists)
  --part I/N       only part I of N, with MXNet's part_index/num_parts semantics
  --json           one JSON object per record per line:
                   {"index","offset","id","id2","labels","payloadBytes","payloadSha256"}
                   (index counts records from 0 in the order read; with --part, within the part;
                   payloadBytes/payloadSha256 cover the image bytes after the MXNet image header)
  --shards N,N,... shard sizes to show in the summary (default 2,4,8; at most ${MAX_SHARD_LISTS} sizes, each 1-${MAX_SHARDS})
${s3Flags.usage}

Exit codes: 0 the file (and its index, when there is one) is consistent; 1 a corrupt file, or an
index that does not match the records; 2 usage error.`;


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
      if (!/^\s*\d+\s*$/.test(s) || !Number.isInteger(n) || n < 1 || n > MAX_SHARDS) throw new UsageError(`--shards: '${s}' is not an integer from 1 to ${MAX_SHARDS}`);
      return n;
    });
    if (shardCounts.length > MAX_SHARD_LISTS) throw new UsageError(`--shards: at most ${MAX_SHARD_LISTS} shard sizes, got ${shardCounts.length}`);
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
      const checked = await indexReport(recUri, values.idx, summary, range, s3);
      lines.push(checked.line);
      io.stdout.write(`${lines.join('\n')}\n`);
      return checked.ok ? 0 : 1;
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

/**
 * Checks the .idx against the scanned records of the range read (the whole file, or the
 * part): every entry in the range at a record start, no two entries at one record, every
 * record indexed. `ok` is false for any mismatch, so the command exits non-zero.
 */
async function indexReport(
  recUri: string,
  idxFlag: string | undefined,
  summary: SummaryAccumulator,
  range: { start: number; end: number },
  s3: ReturnType<typeof resolveS3Config>,
): Promise<{ line: string; ok: boolean }> {
  const idxUri = idxFlag ?? withSuffix(recUri, '.idx');
  const idxSource = openSource(idxUri, s3);
  const rec = openSource(recUri, s3);
  const label = 'index:        ';
  try {
    try {
      await idxSource.size();
    } catch (err) {
      if (idxFlag) throw err;
      return { line: `${label} none at ${idxUri}`, ok: true };
    }
    let entries: { key: number; offset: number }[];
    try {
      entries = (await IndexedRecordIO.open(rec, idxSource)).entries();
    } catch (err) {
      if (!(err instanceof DataFormatError)) throw err;
      return { line: `${label} ${printableLine(err.message)}`, ok: false };
    }
    const inRange = entries.filter((e) => e.offset >= range.start && e.offset < range.end);
    const scope = inRange.length === entries.length ? `${entries.length} entries` : `${inRange.length} of ${entries.length} entries in this part`;
    const known = new Set(summary.offsets);
    const stray = inRange.filter((e) => !known.has(e.offset));
    if (stray.length > 0) {
      const first = stray[0];
      return { line: `${label} ${idxUri}: ${scope}, ${stray.length} do not point at a record start (first: key ${first.key}, offset ${first.offset})`, ok: false };
    }
    const indexed = new Set(inRange.map((e) => e.offset)).size;
    const missing = summary.records - indexed;
    if (missing > 0) return { line: `${label} ${idxUri}: ${scope}, all at record starts, but ${missing} records are not indexed`, ok: false };
    return { line: `${label} ${idxUri}: ${scope}, all at record starts`, ok: true };
  } finally {
    await idxSource.close();
    await rec.close();
  }
}
