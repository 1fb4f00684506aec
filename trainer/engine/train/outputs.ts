import { openDirectory } from '../../io/directory.js';
import type { S3Config } from '../../io/s3-config.js';
import { renderLineChart, type Series } from '../../report/line-chart.js';
import type { EpochMetrics } from './types.js';

/** The metrics.json a run writes; `cifar-trainer compare` and the tests read it back. */
export interface RunMetrics {
  backend: string;
  backendDetail: string;
  weightsSha256: string;
  model: { name: string; origin: string; parameters: number };
  rank: number;
  worldSize: number;
  seed: number;
  epochs: EpochMetrics[];
  finalValidationAccuracy: number | null;
  bestValidationAccuracy: number | null;
  totalSeconds: number;
  resumedFrom: string | null;
  config: Record<string, unknown>;
}

export const METRICS_FILE = 'metrics.json';
export const ACCURACY_CHART = 'accuracy.svg';

const RUN_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/**
 * Training (dashed) and validation (solid) accuracy per epoch of one run, in one colour,
 * so that several runs on one chart read as pairs (the `index`-th run's colour).
 */
export function accuracySeries(label: string, epochs: EpochMetrics[], index = 0): Series[] {
  const color = RUN_COLORS[index % RUN_COLORS.length];
  const series: Series[] = [{ name: `${label} train`, dashed: true, color, points: epochs.map((e) => [e.epoch + 1, e.trainAccuracy]) }];
  const validated = epochs.filter((e) => e.validationAccuracy !== null);
  if (validated.length > 0) series.push({ name: `${label} validation`, color, points: validated.map((e) => [e.epoch + 1, e.validationAccuracy as number]) });
  return series;
}

export function accuracyChart(title: string, series: Series[]): string {
  return renderLineChart(series, { title, xLabel: 'epoch', yLabel: 'accuracy', yRange: [0, 1], xIntegerTicks: true });
}

export async function writeRunOutputs(outUri: string, metrics: RunMetrics, s3: S3Config | undefined): Promise<void> {
  const dir = openDirectory(outUri, s3);
  await dir.write(METRICS_FILE, Buffer.from(`${JSON.stringify(metrics, null, 2)}\n`));
  const chart = accuracyChart(`${metrics.model.name} (${metrics.model.origin === 'scratch' ? 'from scratch' : 'fine-tuned'}), ${metrics.backend}`, accuracySeries(metrics.model.name, metrics.epochs));
  await dir.write(ACCURACY_CHART, Buffer.from(chart));
}
