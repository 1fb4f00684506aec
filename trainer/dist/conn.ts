/**
 * One framed TCP connection to a peer: sends with backpressure, receives control messages
 * with deadlines, and streams DATA payloads straight into caller-owned buffers. Any
 * failure (reset, close, garbage, local abort) is recorded once, rejects every waiter and
 * is reported through `onFailure`, so a collective never waits on a dead socket.
 */
import type { Socket } from 'node:net';
import { ProtocolError, PeerTimeoutError } from './errors.js';
import { FrameFormatError, FrameParser, FrameType, encodeFrame, encodeHeader, frameTypeName, type FrameLimits } from './framing.js';
import { deferred } from './async.js';
import { decodeAbort, decodeReject, type AbortMsg, type RejectMsg } from './messages.js';

/** Before authentication a stranger may send only small handshake frames. */
export const HANDSHAKE_LIMITS: FrameLimits = { maxControlBytes: 16 * 1024, maxDataBytes: 0 };
/** All the bytes a stranger may send before authenticating: a handshake needs well under 1 KiB. */
export const MAX_UNAUTHENTICATED_BYTES = 64 * 1024;
/**
 * DATA payloads stream into caller buffers and are never held whole, so this cap only
 * rejects nonsense lengths; it is the largest sub-chunk a rank may be configured to send.
 */
export const MAX_DATA_FRAME_BYTES = 64 * 1024 * 1024;
const HANDSHAKE_TYPES = [FrameType.Challenge, FrameType.Hello, FrameType.Welcome, FrameType.Reject];

export interface Message {
  type: FrameType;
  payload: Buffer;
}

/** The peer closed in an orderly way (BYE). */
export class PeerLeftError extends Error {
  constructor() {
    super('left the group (orderly shutdown)');
    this.name = 'PeerLeftError';
  }
}

/** The neighbour saw the group fail and passed on which peer was lost. */
export class RemoteAbortError extends Error {
  readonly abort: AbortMsg;

  constructor(abort: AbortMsg) {
    super(`rank ${abort.reportedBy} reported: ${abort.detail}`);
    this.name = 'RemoteAbortError';
    this.abort = abort;
  }
}

/** The peer refused us with a reason (REJECT frame). */
export class PeerRejectedError extends Error {
  readonly reject: RejectMsg;

  constructor(reject: RejectMsg) {
    super(`refused: ${reject.reason}`);
    this.name = 'PeerRejectedError';
    this.reject = reject;
  }
}

interface DataSink {
  target: Uint8Array;
  filled: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (err: Error) => void;
}

export class Conn {
  /** Who the peer is, for messages: an address, then "rank r (address)" once authenticated. */
  label: string;
  lastRecvAt = Date.now();
  lastSendAt = Date.now();
  onFailure: ((err: Error) => void) | undefined;
  /** Bytes queued on the socket before sendData waits for 'drain'. */
  sendBudgetBytes = 4 * 1024 * 1024;

  private readonly parser: FrameParser;
  private readonly messages: Message[] = [];
  private messageWaiter: Waiter<Message> | undefined;
  private readonly dataQueue: Buffer[] = [];
  private sink: DataSink | undefined;
  private drainWaiters: Waiter<void>[] = [];
  private failure: Error | undefined;
  private lastWrite: Promise<void> = Promise.resolve();
  private writesPending = 0;
  private peerLeft = false;
  private authenticated = false;
  private receivedBytes = 0;
  /** After a last frame is sent nothing more is read: a refused stranger cannot make us buffer. */
  private closing = false;
  private readonly failed_ = deferred<never>();

  constructor(readonly socket: Socket) {
    this.label = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    this.failed_.promise.catch(() => undefined);
    this.parser = new FrameParser(
      { onData: (b) => this.onData(b), onFrame: (t, p) => this.onFrame(t, p) },
      HANDSHAKE_LIMITS,
      HANDSHAKE_TYPES,
    );
    socket.on('data', (chunk: Buffer) => {
      if (this.closing) return;
      this.lastRecvAt = Date.now();
      if (!this.authenticated) {
        this.receivedBytes += chunk.length;
        if (this.receivedBytes > MAX_UNAUTHENTICATED_BYTES) {
          this.fail(new ProtocolError(this.label, `sent more than ${MAX_UNAUTHENTICATED_BYTES} bytes before authenticating`));
          return;
        }
      }
      try {
        this.parser.push(chunk);
      } catch (err) {
        const detail = err instanceof FrameFormatError ? `sent garbage: ${err.message}` : `bad message: ${String(err)}`;
        this.fail(new ProtocolError(this.label, detail));
      }
    });
    socket.on('drain', () => {
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of ws) w.resolve();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.fail(this.peerLeft ? new PeerLeftError() : new Error(`connection error: ${err.code ?? err.message}`));
    });
    socket.on('close', () => this.fail(this.peerLeft ? new PeerLeftError() : new Error('connection closed')));
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /**
   * Resolves once every DATA view written so far has been handed to the kernel, after
   * which the caller may reuse the array those views point into.
   */
  flushed(): Promise<void> {
    if (this.writesPending === 0) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return Promise.race([this.lastWrite, this.failed_.promise]);
  }

  /** After authentication: allow the collective frame types and larger frames. */
  enterSession(label: string, maxDataBytes: number): void {
    this.label = label;
    this.authenticated = true;
    this.parser.setAllowed(
      [FrameType.Op, FrameType.Data, FrameType.Heartbeat, FrameType.Abort, FrameType.Bye, FrameType.Reject, FrameType.Register, FrameType.Membership],
      { maxControlBytes: 1024 * 1024, maxDataBytes },
    );
  }

  /** Sends a control frame; resolves once the socket accepts more. */
  async send(type: FrameType, payload?: Uint8Array): Promise<void> {
    this.throwIfFailed();
    const ok = this.socket.write(encodeFrame(type, payload));
    this.lastSendAt = Date.now();
    if (!ok) await this.drained();
  }

  /**
   * Sends a view as one DATA frame without copying it: the caller must not modify those
   * bytes until the collective completes (the ring schedule guarantees it).
   */
  async sendData(view: Uint8Array): Promise<void> {
    this.throwIfFailed();
    this.socket.cork();
    this.socket.write(encodeHeader(FrameType.Data, view.byteLength));
    this.writesPending++;
    this.lastWrite = new Promise<void>((resolve) =>
      this.socket.write(view, () => {
        this.writesPending--;
        resolve();
      }),
    );
    this.socket.uncork();
    this.lastSendAt = Date.now();
    // Views are not copied, so queueing several is cheap; waiting for 'drain' after every
    // write would leave the socket idle between sub-chunks.
    if (this.socket.writableLength > this.sendBudgetBytes) await this.drained();
  }

  /** Writes a frame if the socket is still usable, ignoring failure (heartbeats). */
  trySend(type: FrameType, payload?: Uint8Array): void {
    if (this.failure || this.socket.destroyed) return;
    this.socket.write(encodeFrame(type, payload));
    this.lastSendAt = Date.now();
  }

  /** Next control message; with `timeoutMs`, a PeerTimeoutError naming the peer after that long. */
  readMessage(timeoutMs: number | undefined, what: string): Promise<Message> {
    const queued = this.messages.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    if (this.messageWaiter) return Promise.reject(new Error(`${this.label}: concurrent readMessage`));
    return new Promise<Message>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.messageWaiter = undefined;
              reject(new PeerTimeoutError(this.label, `no ${what} within ${(timeoutMs / 1000).toFixed(1)} s`));
            }, Math.max(0, timeoutMs));
      this.messageWaiter = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Reads a message that must be of `type`; a REJECT becomes PeerRejectedError. */
  async expect(type: FrameType, timeoutMs: number | undefined, what: string): Promise<Buffer> {
    const m = await this.readMessage(timeoutMs, what);
    if (m.type === type) return m.payload;
    if (m.type === FrameType.Reject) throw new PeerRejectedError(decodeReject(m.payload));
    throw new ProtocolError(this.label, `expected ${frameTypeName(type)}, got ${frameTypeName(m.type)}`);
  }

  /**
   * Fills `target` with the next DATA bytes. Bytes that arrived before a failure are still
   * served, so a collective completes when its data is all here even if the peer then left.
   * Liveness is watched by the group, not per read.
   */
  readData(target: Uint8Array): Promise<void> {
    let filled = 0;
    while (filled < target.byteLength && this.dataQueue.length > 0) {
      const head = this.dataQueue[0] as Buffer;
      const take = Math.min(head.byteLength, target.byteLength - filled);
      target.set(take === head.byteLength ? head : head.subarray(0, take), filled);
      filled += take;
      if (take === head.byteLength) this.dataQueue.shift();
      else this.dataQueue[0] = head.subarray(take);
    }
    if (filled === target.byteLength) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.sink = { target, filled, resolve, reject };
    });
  }

  /**
   * Sends a last frame (REJECT, ABORT, BYE) and closes after it is flushed, bounded by a
   * timer; `err` is what pending and later calls on this side see.
   */
  finish(type: FrameType, payload: Uint8Array, err: Error): void {
    if (this.failure) return;
    this.closing = true;
    if (!this.socket.destroyed) {
      // Stop reading: whatever the peer still sends waits in the kernel (and then TCP flow
      // control stops it) instead of being parsed and queued here.
      this.socket.pause();
      this.socket.end(encodeFrame(type, payload));
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
    this.fail(err, false);
  }

  /** Ends the connection; `err` is what pending and later calls see. */
  fail(err: Error, destroy = true): void {
    if (this.failure) return;
    this.failure = err;
    this.failed_.reject(err);
    if (destroy) this.socket.destroy();
    const waiter = this.messageWaiter;
    this.messageWaiter = undefined;
    waiter?.reject(err);
    const sink = this.sink;
    this.sink = undefined;
    sink?.reject(err);
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w.reject(err);
    this.onFailure?.(err);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  private onData(bytes: Buffer): void {
    const sink = this.sink;
    if (!sink) {
      this.dataQueue.push(bytes);
      return;
    }
    const take = Math.min(bytes.byteLength, sink.target.byteLength - sink.filled);
    sink.target.set(take === bytes.byteLength ? bytes : bytes.subarray(0, take), sink.filled);
    sink.filled += take;
    if (take < bytes.byteLength) this.dataQueue.push(bytes.subarray(take));
    if (sink.filled === sink.target.byteLength) {
      this.sink = undefined;
      sink.resolve();
    }
  }

  private onFrame(type: FrameType, payload: Buffer): void {
    switch (type) {
      case FrameType.Heartbeat:
        return;
      case FrameType.Abort:
        this.fail(new RemoteAbortError(decodeAbort(payload)));
        return;
      case FrameType.Bye:
        // Data sent before the BYE may still be unread; the close that follows ends the link.
        this.peerLeft = true;
        return;
      default: {
        const waiter = this.messageWaiter;
        if (waiter) {
          this.messageWaiter = undefined;
          waiter.resolve({ type, payload });
        } else {
          this.messages.push({ type, payload });
        }
      }
    }
  }
}
