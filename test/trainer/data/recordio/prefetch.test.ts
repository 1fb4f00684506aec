import t from 'tap';
import { encodeRecord } from '../../../../trainer/data/recordio/format.js';
import { prefetch } from '../../../../trainer/data/recordio/prefetch.js';
import { readRecords } from '../../../../trainer/data/recordio/reader.js';
import { MemorySource } from '../../../helpers/recordio-sources.js';

/** A stream of `count` numbers that logs pulls and whether it was closed. */
function counted(count: number, failAt = -1): { iterable: AsyncIterable<number>; pulled: number[]; closed: () => boolean } {
  const pulled: number[] = [];
  let closed = false;
  async function* gen(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < count; i++) {
        pulled.push(i);
        if (i === failAt) throw new Error(`item ${i} failed (test)`);
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  return { iterable: gen(), pulled, closed: () => closed };
}

t.test('the next item is requested while the current one is being consumed', async (t) => {
  const { iterable, pulled } = counted(5);
  const seen: number[] = [];
  for await (const x of prefetch(iterable)) {
    await new Promise((resolve) => setImmediate(resolve));
    t.ok(pulled.length >= Math.min(x + 2, 5), `while item ${x} is consumed, ${pulled.length} items are already pulled`);
    seen.push(x);
  }
  t.same(seen, [0, 1, 2, 3, 4]);
});

t.test('breaking out closes the producer; producer errors reach the consumer', async (t) => {
  const early = counted(100);
  for await (const x of prefetch(early.iterable)) if (x === 2) break;
  t.ok(early.closed(), 'producer closed');
  t.ok(early.pulled.length <= 4, `pulled only ${early.pulled.length} of 100`);

  const failing = counted(10, 3);
  const seen: number[] = [];
  await t.rejects(
    (async () => {
      for await (const x of prefetch(failing.iterable)) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        seen.push(x);
      }
    })(),
    /item 3 failed/,
  );
  t.same(seen, [0, 1, 2], 'items before the failure are delivered');
});

t.test('readRecords streams lazily: a consumer that stops early reads only a few chunks', async (t) => {
  const file = Buffer.concat(Array.from({ length: 50 }, (_, i) => encodeRecord(Buffer.alloc(100, i))));
  const source = new MemorySource(file, 'mem://early.rec', 256);
  for await (const r of readRecords(source)) if (r.offset > 0) break;
  t.ok(source.bytesRead() <= 3 * 256, `read ${source.bytesRead()} of ${file.length} bytes`);
});
