/**
 * Container logs in the CRI format kubelets read (staging/src/k8s.io/cri-api, and
 * pkg/kubelet/kuberuntime/logs/logs.go): one line per record,
 * `<RFC3339Nano time> <stdout|stderr> <F|P> <content>`, P marking a line split because it
 * was too long. The writer turns a process's output into records; the reader applies
 * `kubectl logs` options (tailLines, sinceTime, timestamps, limitBytes). Pure but for the
 * writer's sink.
 */

export type Stream = 'stdout' | 'stderr';

export interface LogRecord {
  time: string;
  stream: Stream;
  partial: boolean;
  content: string;
}

/** The kubelet's (containerd's) cap on one record before it is split with a P tag. */
export const MAX_RECORD_BYTES = 16 * 1024;

/** RFC 3339 with nanoseconds, as CRI runtimes stamp records. */
export function criTime(ms: number = Date.now(), nanos = 0): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19)}.${`${String(ms % 1000).padStart(3, '0')}${String(nanos).padStart(6, '0')}`}Z`;
}

export function formatRecord(r: LogRecord): string {
  return `${r.time} ${r.stream} ${r.partial ? 'P' : 'F'} ${r.content}\n`;
}

const RECORD = /^(\S+) (stdout|stderr) ([FP])(?: (.*))?$/;

/** Parses one line of a CRI log; undefined for anything else (a torn last line). */
export function parseRecord(line: string): LogRecord | undefined {
  const m = RECORD.exec(line);
  if (!m) return undefined;
  return { time: m[1], stream: m[2] as Stream, partial: m[3] === 'P', content: m[4] ?? '' };
}

/** Splits a stream's chunks into records; keeps an unterminated tail until more comes or `flush`. */
export class RecordSplitter {
  #buffer = '';
  constructor(
    readonly stream: Stream,
    private readonly emit: (r: LogRecord) => void,
    private readonly now: () => string = () => criTime(),
  ) {}

  write(chunk: string): void {
    this.#buffer += chunk;
    for (;;) {
      const nl = this.#buffer.indexOf('\n');
      if (nl < 0) break;
      this.#emitLine(this.#buffer.slice(0, nl), false);
      this.#buffer = this.#buffer.slice(nl + 1);
    }
    // A long unterminated tail goes out in full-size pieces now; the rest waits for more.
    const bytes = Buffer.from(this.#buffer, 'utf8');
    if (bytes.length > MAX_RECORD_BYTES) {
      const pieces = splitBytes(bytes);
      const last = pieces.pop() ?? '';
      for (const p of pieces) this.emit({ time: this.now(), stream: this.stream, partial: true, content: p });
      this.#buffer = last;
    }
  }

  /** At the end of the stream, what is left is a last (unterminated) line. */
  flush(): void {
    if (this.#buffer !== '') this.#emitLine(this.#buffer, false);
    this.#buffer = '';
  }

  /** One line as records: pieces of at most MAX_RECORD_BYTES, all but the last tagged P. */
  #emitLine(content: string, partial: boolean): void {
    const pieces = Buffer.byteLength(content, 'utf8') > MAX_RECORD_BYTES ? splitBytes(Buffer.from(content, 'utf8')) : [content];
    pieces.forEach((p, i) => this.emit({ time: this.now(), stream: this.stream, partial: i < pieces.length - 1 || partial, content: p }));
  }
}

/** Splits UTF-8 bytes into strings of at most MAX_RECORD_BYTES, never inside a character. */
function splitBytes(bytes: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(bytes.length, start + MAX_RECORD_BYTES);
    // Back up over continuation bytes (10xxxxxx) so the cut falls between characters.
    while (end < bytes.length && end > start && (bytes[end] & 0xc0) === 0x80) end--;
    out.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return out;
}

export interface ReadOptions {
  /** Only the last N lines (a P record and the F that ends it are one line). */
  tailLines?: number;
  /** Only records at or after this time (ms since the epoch). */
  sinceMs?: number;
  timestamps?: boolean;
}

/** Groups records into lines: a run of P records closed by an F. */
function lines(records: readonly LogRecord[]): LogRecord[][] {
  const out: LogRecord[][] = [];
  let cur: LogRecord[] = [];
  for (const r of records) {
    cur.push(r);
    if (!r.partial) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** The text `kubectl logs` prints for these records. */
export function renderRecords(records: readonly LogRecord[], opts: ReadOptions): string {
  let selected = records.filter((r) => opts.sinceMs === undefined || Date.parse(r.time) >= opts.sinceMs);
  if (opts.tailLines !== undefined) {
    const grouped = lines(selected);
    selected = grouped.slice(Math.max(0, grouped.length - opts.tailLines)).flat();
  }
  return selected.map((r) => `${opts.timestamps ? `${r.time} ` : ''}${r.content}${r.partial ? '' : '\n'}`).join('');
}

/** Parses a whole CRI log file's text, skipping a torn last line. */
export function parseLog(text: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const r = parseRecord(line);
    if (r) out.push(r);
  }
  return out;
}
