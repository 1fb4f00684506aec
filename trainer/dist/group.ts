/**
 * A formed group of ranks and its collectives. WORLD_SIZE=1 gives a group with no
 * networking whose collectives are no-ops. Otherwise: rendezvous, ring formation, then
 * collectives run one at a time, in call order, which must be the same on every rank.
 *
 * Failure: the first problem on either neighbour link (reset, close, garbage, silence past
 * the peer timeout, a neighbour's ABORT) fails the whole group with a PeerLostError naming
 * the lost rank and address; we pass an ABORT carrying that name to both neighbours so
 * the failure travels round the ring within a bounded time and every rank names the
 * same peer. Every pending and later collective rejects with that error.
 */
import type { DistConfig } from './config.js';
import { PeerLeftError, RemoteAbortError } from './conn.js';
import { GroupMismatchError, PeerLostError } from './errors.js';
import { executePlan } from './allreduce.js';
import { FrameType } from './framing.js';
import { formRing, type Peer, type RingLinks } from './links.js';
import { startLiveness } from './liveness.js';
import { decodeOp, encodeMsg, formatAddress, type AbortMsg, type Member, type OpMsg } from './messages.js';
import { rendezvous } from './rendezvous.js';
import { allReducePlan, broadcastPlan, type RingPlan } from './ring.js';
import type { LogFn } from './types.js';

export interface Group {
  readonly rank: number;
  readonly worldSize: number;
  /** Replaces `data` on every rank with the element-wise average over ranks, bit-identical everywhere. */
  allReduce(data: Float32Array): Promise<void>;
  /** Replaces `data` on every rank with root's `data`. */
  broadcast(data: Float32Array, root?: number): Promise<void>;
  /** Resolves on each rank once every rank has called it. */
  barrier(): Promise<void>;
  /** Leaves the group: neighbours see an orderly leave, not a crash. */
  close(): Promise<void>;
}

export interface JoinOptions {
  /** Must be equal on every rank, e.g. modelFingerprint() of the parameter shapes. */
  fingerprint: string;
  log?: LogFn;
}

class SoloGroup implements Group {
  readonly rank = 0;
  readonly worldSize = 1;
  async allReduce(): Promise<void> {}
  async broadcast(_data: Float32Array, root = 0): Promise<void> {
    if (root !== 0) throw new RangeError(`broadcast root ${root} out of range for world size 1`);
  }
  async barrier(): Promise<void> {}
  async close(): Promise<void> {}
}

function describeOp(op: OpMsg): string {
  return op.kind === 'broadcast' ? `broadcast of ${op.length} floats from rank ${op.root}` : `all-reduce of ${op.length} floats`;
}

class RingGroup implements Group {
  readonly rank: number;
  readonly worldSize: number;
  private failure: Error | undefined;
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private readonly scratch: Float32Array;
  private readonly chunkElems: number;
  private readonly self: string;
  private readonly stopLiveness: () => void;

  constructor(
    cfg: DistConfig,
    members: readonly Member[],
    private readonly links: RingLinks,
    private readonly log: LogFn,
  ) {
    this.rank = cfg.rank;
    this.worldSize = cfg.worldSize;
    this.chunkElems = cfg.chunkBytes / 4;
    this.scratch = new Float32Array(this.chunkElems);
    const me = members[cfg.rank] as Member;
    this.self = formatAddress(me.host, me.port);
    links.prev.onFailure = (err) => this.onLinkFailure(links.prevPeer, err);
    links.next.onFailure = (err) => this.onLinkFailure(links.nextPeer, err);
    const silent = (peer: Peer) => (ms: number) =>
      this.fail(new PeerLostError(peer.rank, peer.address, `silent for ${(ms / 1000).toFixed(1)} s (peer timeout ${cfg.peerTimeoutMs / 1000} s)`));
    this.stopLiveness = startLiveness(
      [
        { conn: links.prev, onSilent: silent(links.prevPeer) },
        { conn: links.next, onSilent: silent(links.nextPeer) },
      ],
      cfg.peerTimeoutMs,
    );
  }

  allReduce(data: Float32Array): Promise<void> {
    return this.collective({ kind: 'allreduce', length: data.length, root: 0 }, data, () =>
      allReducePlan(data.length, this.worldSize, this.rank, this.chunkElems),
    );
  }

  broadcast(data: Float32Array, root = 0): Promise<void> {
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) {
      return Promise.reject(new RangeError(`broadcast root ${root} out of range for world size ${this.worldSize}`));
    }
    return this.collective({ kind: 'broadcast', length: data.length, root }, data, () =>
      broadcastPlan(data.length, this.worldSize, this.rank, root, this.chunkElems),
    );
  }

  barrier(): Promise<void> {
    // The last value of an all-reduce depends on every rank's input, so no rank can finish before all have started.
    return this.allReduce(new Float32Array(1));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= new Error(`rank ${this.rank} left the group`);
    this.stopLiveness();
    for (const conn of [this.links.prev, this.links.next]) conn.finish(FrameType.Bye, new Uint8Array(0), this.failure);
  }

  private collective(op: Omit<OpMsg, 'seq'>, data: Float32Array, plan: () => RingPlan): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.failure) throw this.failure;
      const header: OpMsg = { seq: this.seq++, ...op };
      await this.exchangeOp(header);
      await executePlan(this.links, data, plan(), this.worldSize, this.scratch);
    };
    const p = this.tail.then(run).catch((err: unknown) => {
      // Link errors become the group's PeerLostError; anything else fails the group here.
      if (!this.failure) this.fail(err instanceof Error ? err : new Error(String(err)));
      throw this.failure ?? err;
    });
    this.tail = p.catch(() => undefined);
    return p;
  }

  private async exchangeOp(op: OpMsg): Promise<void> {
    await this.links.next.send(FrameType.Op, encodeMsg(op));
    const got = decodeOp(await this.links.prev.expect(FrameType.Op, undefined, 'collective header'));
    if (got.seq !== op.seq || got.kind !== op.kind || got.length !== op.length || got.root !== op.root) {
      const p = this.links.prevPeer;
      throw new GroupMismatchError(
        `collective #${op.seq} differs between ranks: rank ${this.rank} runs ${describeOp(op)}, ` +
          `predecessor rank ${p.rank} (${p.address}) runs collective #${got.seq}, ${describeOp(got)}`,
      );
    }
  }

  private onLinkFailure(peer: Peer, err: Error): void {
    if (this.failure) return;
    if (err instanceof RemoteAbortError) {
      const a = err.abort;
      this.fail(new PeerLostError(a.rank, a.address, a.detail, a.reportedBy));
    } else if (err instanceof PeerLeftError) {
      // An orderly leave ends the group for later collectives but must not abort the
      // other link: a neighbour may still be finishing the last collective through it.
      this.failure = new PeerLostError(peer.rank, peer.address, 'left the group');
      this.log(`group: rank ${this.rank}: neighbour rank ${peer.rank} (${peer.address}) left the group`);
    } else {
      this.fail(new PeerLostError(peer.rank, peer.address, err.message));
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.stopLiveness();
    this.log(`group: rank ${this.rank}: ${err.message}`);
    const abort: AbortMsg =
      err instanceof PeerLostError
        ? { rank: err.rank, address: err.address, detail: err.detail, reportedBy: err.reportedBy ?? this.rank }
        : { rank: this.rank, address: this.self, detail: err.message, reportedBy: this.rank };
    for (const conn of [this.links.prev, this.links.next]) conn.finish(FrameType.Abort, encodeMsg(abort), err);
  }
}

/**
 * Joins the group described by `cfg`: rendezvous, then the ring. Rejects with
 * RendezvousTimeoutError, PeerAuthError or GroupMismatchError; never waits past the
 * rendezvous timeout plus the peer timeout.
 */
export async function joinGroup(cfg: DistConfig, opts: JoinOptions): Promise<Group> {
  if (cfg.worldSize === 1) return new SoloGroup();
  const log = opts.log ?? (() => undefined);
  const { members, listener } = await rendezvous(cfg, opts.fingerprint, log);
  const links = await formRing(cfg, members, listener, log);
  log(`group: rank ${cfg.rank}/${cfg.worldSize} joined; ring ${links.prevPeer.rank} -> ${cfg.rank} -> ${links.nextPeer.rank}`);
  return new RingGroup(cfg, members, links, log);
}
