/**
 * Rate-limited progress lines on stderr for long-running commands, so a terminal shows
 * movement and a log file does not fill with a line per image.
 */
export function progressReporter(write: (line: string) => void, label: string, intervalMs = 2000): (done: number, total: number | undefined) => void {
  const started = Date.now();
  let last = started;
  return (done, total) => {
    const now = Date.now();
    const finished = total !== undefined && done >= total;
    if (!finished && now - last < intervalMs) return;
    last = now;
    const seconds = Math.max((now - started) / 1000, 1e-3);
    const rate = Math.round(done / seconds);
    const of = total !== undefined ? `/${total}` : '';
    const pct = total ? ` (${((100 * done) / total).toFixed(0)}%)` : '';
    write(`${label}: ${done}${of}${pct}, ${rate}/s\n`);
  };
}
