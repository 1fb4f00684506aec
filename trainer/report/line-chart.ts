/**
 * A small, dependency-free SVG line chart for training curves (accuracy against epoch),
 * in the spirit of the tutorial's figures: one line per series, axes with ticks, a legend.
 */
export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** Dashed lines tell training curves from validation curves of the same run. */
  dashed?: boolean;
  color?: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Fixed y range; accuracy charts use [0, 1]. Defaults to the data's range. */
  yRange?: [number, number];
  /** Only whole-number ticks on the x axis (epochs). */
  xIntegerTicks?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const MARGIN = { left: 64, right: 180, top: 40, bottom: 48 };

export function renderLineChart(series: Series[], options: ChartOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 420;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const all = series.flatMap((s) => s.points);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const [xMin, xMax] = paddedRange(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1);
  const [yMin, yMax] = options.yRange ?? paddedRange(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1);
  const sx = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - ((y - yMin) / (yMax - yMin)) * plotH;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2 - MARGIN.right / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`);

  for (const t of ticks(yMin, yMax, 6)) {
    const y = fmt(sy(t));
    parts.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(t)}</text>`);
  }
  for (const t of ticks(xMin, xMax, 8, options.xIntegerTicks ?? false)) {
    const x = fmt(sx(t));
    parts.push(`<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotH}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);

  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (s.points.length > 0) {
      const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${fmt(sx(x))} ${fmt(sy(y))}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
      for (const [x, y] of s.points) parts.push(`<circle cx="${fmt(sx(x))}" cy="${fmt(sy(y))}" r="2.5" fill="${color}"/>`);
    }
    const ly = MARGIN.top + 12 + i * 20;
    const lx = MARGIN.left + plotW + 14;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function paddedRange(min: number, max: number): [number, number] {
  if (min === max) return [min - 0.5, max + 0.5];
  return [min, max];
}

/** Round tick values (1, 2, 5 times a power of ten) covering [min, max]. */
export function ticks(min: number, max: number, target: number, integer = false): number[] {
  const raw = Math.max((max - min) / Math.max(target, 1), integer ? 1 : 0);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function tickLabel(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function fmt(v: number): string {
  return v.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
