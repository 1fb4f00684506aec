/**
 * Pod IPs for the local node: one loopback address per pod, so every trainer can bind the
 * same ports it would use in a cluster. Linux routes all of 127.0.0.0/8 to `lo` without
 * configuration, so any address in the range can be bound at once.
 */

export interface IpRange {
  /** First address handed out, e.g. 127.0.0.2 (127.0.0.1 stays the host's). */
  first: string;
  /** Last address handed out, inclusive. */
  last: string;
}

export const DEFAULT_POD_IP_RANGE: IpRange = { first: '127.0.0.2', last: '127.0.255.254' };

export function ipv4ToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`pod IP range: ${JSON.stringify(ip)} is not an IPv4 address`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export class LoopbackIpPool {
  readonly #first: number;
  readonly #last: number;
  readonly #inUse = new Set<number>();
  #next: number;

  constructor(range: IpRange = DEFAULT_POD_IP_RANGE) {
    this.#first = ipv4ToNumber(range.first);
    this.#last = ipv4ToNumber(range.last);
    if (Math.floor(this.#first / 2 ** 24) !== 127 || Math.floor(this.#last / 2 ** 24) !== 127) {
      throw new Error(`pod IP range ${range.first}-${range.last}: must lie inside 127.0.0.0/8 (loopback)`);
    }
    if (this.#last < this.#first) throw new Error(`pod IP range ${range.first}-${range.last}: last is before first`);
    this.#next = this.#first;
  }

  /**
   * The next free address after the last one handed out. Walking on instead of reusing
   * the lowest free address keeps a just-freed IP from going straight to a new pod while
   * peers may still hold connections or DNS answers for the old one.
   */
  allocate(owner: string): string {
    const size = this.#last - this.#first + 1;
    for (let i = 0; i < size; i++) {
      const candidate = this.#first + ((this.#next - this.#first + i) % size);
      const lastOctet = candidate % 256;
      if (lastOctet === 0 || lastOctet === 255 || this.#inUse.has(candidate)) continue;
      this.#inUse.add(candidate);
      this.#next = candidate + 1 > this.#last ? this.#first : candidate + 1;
      return numberToIpv4(candidate);
    }
    throw new Error(`pod ${owner}: no free pod IP left in ${numberToIpv4(this.#first)}-${numberToIpv4(this.#last)} (${this.#inUse.size} in use)`);
  }

  release(ip: string): void {
    this.#inUse.delete(ipv4ToNumber(ip));
  }

  get inUse(): number {
    return this.#inUse.size;
  }
}
