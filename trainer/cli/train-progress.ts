import type { ProgressEvent } from '../engine/train/types.js';

/** Renders training progress for a terminal (text) or a log pipeline (one JSON object per line). */
export function formatProgress(event: ProgressEvent, format: 'text' | 'json'): string {
  if (format === 'json') return `${JSON.stringify({ event: event.type, time: new Date().toISOString(), ...withoutType(event) })}\n`;
  switch (event.type) {
    case 'step':
      return (
        `epoch ${event.epoch + 1}/${event.epochs} step ${event.step}/${event.stepsPerEpoch} ` +
        `loss ${event.loss.toFixed(4)} acc ${event.accuracy.toFixed(4)} lr ${event.learningRate.toPrecision(3)} ` +
        `${Math.round(event.imagesPerSecond).toLocaleString('en-US')} img/s ETA ${duration(event.etaSeconds)}\n`
      );
    case 'epoch':
      return (
        `epoch ${event.epoch + 1}/${event.epochs} done: train loss ${event.trainLoss.toFixed(4)} acc ${event.trainAccuracy.toFixed(4)}` +
        (event.validationAccuracy !== null ? `, validation loss ${event.validationLoss!.toFixed(4)} acc ${event.validationAccuracy.toFixed(4)}` : '') +
        `, ${Math.round(event.imagesPerSecond).toLocaleString('en-US')} img/s, ${event.seconds.toFixed(1)} s\n`
      );
    case 'checkpoint':
      return `checkpoint ${event.uri} (${(event.bytes / 1e6).toFixed(1)} MB in ${event.seconds.toFixed(2)} s)\n`;
  }
}

function withoutType(event: ProgressEvent): Record<string, unknown> {
  const { type: _type, ...rest } = event;
  return rest;
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
