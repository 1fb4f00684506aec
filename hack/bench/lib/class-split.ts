// Writes the records of some classes of a packed RecordIO file to a new .rec/.idx pair, with
// labels renumbered 0..k-1 in the order given: the transfer setting of bench:tutorial
// (pretrain on some CIFAR-10 classes, fine-tune on the others) needs each half as its own
// k-class dataset.
import { unpackImageRecord, packImageRecord } from '../../../trainer/data/recordio/image-record.js';
import { IndexedRecordIOWriter } from '../../../trainer/data/recordio/indexed-writer.js';
import { readRecords } from '../../../trainer/data/recordio/reader.js';
import { LocalFileSink, LocalFileSource } from '../../../trainer/io/local-source.js';

export interface ClassSubset {
  rec: string;
  records: number;
}

/** Keeps at most `limit` records (the first ones in file order) of `classes`. */
export async function writeClassSubset(fromRec: string, toBase: string, classes: readonly number[], limit = Infinity): Promise<ClassSubset> {
  const renumber = new Map(classes.map((c, i) => [c, i]));
  const writer = new IndexedRecordIOWriter(new LocalFileSink(`${toBase}.rec`), new LocalFileSink(`${toBase}.idx`));
  let records = 0;
  try {
    for await (const entry of readRecords(new LocalFileSource(fromRec))) {
      if (records >= limit) break;
      const record = unpackImageRecord(entry.payload, fromRec, entry.offset);
      const label = renumber.get(record.labels[0]);
      if (label === undefined) continue;
      await writer.write(records, packImageRecord({ labels: [label], id: record.id, id2: record.id2 }, record.image));
      records++;
    }
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return { rec: `${toBase}.rec`, records };
}
