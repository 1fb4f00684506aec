/** TCP plumbing: a listener that hands sockets to a handler, and a connect with a deadline. */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { formatAddress } from './messages.js';

/** Sockets accepted before a handler is set wait here; beyond this many they are dropped. */
const MAX_PENDING = 64;

export class Listener {
  private handler: ((s: Socket) => void) | undefined;
  private pending: Socket[] = [];
  private host_ = '';
  private port_ = 0;

  private constructor(private readonly server: Server) {
    server.on('connection', (s: Socket) => {
      // A held socket may be reset before anyone listens to it; that must not crash us.
      s.on('error', () => undefined);
      if (this.handler) this.handler(s);
      else if (this.pending.length < MAX_PENDING) this.pending.push(s);
      else s.destroy();
    });
  }

  /**
   * Binds host:port (port 0 = ephemeral). Sockets accepted before setHandler() are held,
   * so a peer that connects the moment it learns our address is not turned away.
   */
  static open(host: string, port: number): Promise<Listener> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true });
      const listener = new Listener(server);
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new Error(`cannot listen on ${formatAddress(host, port)}: ${err.code ?? err.message}`));
      });
      server.listen({ host, port, exclusive: true }, () => {
        const addr = server.address();
        listener.host_ = host;
        listener.port_ = typeof addr === 'object' && addr !== null ? addr.port : port;
        resolve(listener);
      });
    });
  }

  get host(): string {
    return this.host_;
  }

  get port(): number {
    return this.port_;
  }

  get address(): string {
    return formatAddress(this.host_, this.port_);
  }

  /** Hands held and future sockets to `onSocket`. */
  setHandler(onSocket: (s: Socket) => void): void {
    this.handler = onSocket;
    const held = this.pending;
    this.pending = [];
    for (const s of held) onSocket(s);
  }

  /** Stops accepting; held sockets are closed. */
  close(): void {
    this.handler = undefined;
    for (const s of this.pending) s.destroy();
    this.pending = [];
    this.server.close();
  }
}

/**
 * Opens a TCP connection or rejects with the errno (ECONNREFUSED, ETIMEDOUT, ...).
 * `localAddress` (the pod IP) makes peers see our connection come from our own address.
 */
export function connectTcp(host: string, port: number, timeoutMs: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true, ...(localAddress ? { localAddress } : {}) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${formatAddress(host, port)} timed out after ${timeoutMs} ms`));
    }, Math.max(1, timeoutMs));
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`connect to ${formatAddress(host, port)}: ${err.code ?? err.message}`));
    });
  });
}
