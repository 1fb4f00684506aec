// Child process for `npm run bench:data`: loads a .rec into the pipeline cache the way the
// trainer does and reports its peak RSS, measured alone so nothing else inflates it.
import { loadDataset } from '../../trainer/data/dataset.js';

const uri = process.argv[2];
if (!uri) throw new Error('usage: cache-memory.ts FILE.rec');
const baselineRss = process.memoryUsage.rss();
const started = performance.now();
const { cache } = await loadDataset({ uri, format: 'recordio', split: 'train' });
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({
    images: cache.count,
    cacheBytes: cache.pixels.byteLength + cache.labels.byteLength,
    baselineRssBytes: baselineRss,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    seconds,
  })}\n`,
);
