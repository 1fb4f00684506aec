/**
 * Kubernetes Events for what a user wants in `kubectl describe`. Like client-go's event
 * correlator, a repeat of the same type, reason and message on the same object bumps the
 * count of the Event already written instead of adding another.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import { errorMessage, isNotFound } from './api-errors.js';
import type { EventApi, ObjectReference } from './api-types.js';

export const EVENT_COMPONENT = 'cifar-operator';
/** Object names, Event names included, are DNS subdomains of at most 253 characters. */
export const MAX_OBJECT_NAME = 253;

/**
 * `<object>.<unique suffix>`, like client-go's `<name>.<hex time>`, readable in `kubectl get
 * events`. A long object name is cut so the whole stays a valid name of at most 253 characters.
 */
export function eventName(objectName: string, suffix: string): string {
  const room = MAX_OBJECT_NAME - suffix.length - 1;
  // A cut may end on '-' or '.'; every DNS label must end with a letter or digit.
  const head = objectName.length <= room ? objectName : objectName.slice(0, room).replace(/[^a-z0-9]+$/, '');
  return `${head}.${suffix}`;
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

interface Seen {
  name: string;
  count: number;
}

export interface EventRecorderOptions {
  api: EventApi;
  logger: Logger;
  /** reportingInstance: which operator replica wrote the Event. */
  instance: string;
  now?: () => Date;
  /** Remembered (object, reason, message) triples; the oldest are forgotten first. */
  maxEntries?: number;
}

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly now: () => Date;
  private readonly maxEntries: number;

  constructor(private readonly opts: EventRecorderOptions) {
    this.now = opts.now ?? (() => new Date());
    this.maxEntries = opts.maxEntries ?? 4096;
  }

  /** Never throws: an Event that cannot be written is logged, it must not fail a reconcile. */
  async record(object: ObjectReference, event: EventSpec): Promise<void> {
    const key = [object.namespace, object.name, object.uid ?? '', event.type, event.reason, event.message].join('\u0000');
    const now = this.now();
    const previous = this.seen.get(key);
    try {
      if (previous !== undefined) {
        try {
          await this.opts.api.updateEventCount(object.namespace, previous.name, previous.count + 1, now);
          this.remember(key, { name: previous.name, count: previous.count + 1 });
          return;
        } catch (err) {
          // The API server expires Events (1 h by default); start a new one.
          if (!isNotFound(err)) throw err;
        }
      }
      const name = eventName(object.name, `${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`);
      await this.opts.api.createEvent({
        namespace: object.namespace,
        name,
        involvedObject: object,
        type: event.type,
        reason: event.reason,
        message: event.message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        component: EVENT_COMPONENT,
        instance: this.opts.instance,
      });
      this.remember(key, { name, count: 1 });
    } catch (err) {
      this.opts.logger.warn('could not record event', { namespace: object.namespace, job: object.name, reason: event.reason, err: errorMessage(err) });
    }
  }

  private remember(key: string, seen: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, seen);
    if (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
