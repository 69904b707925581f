// Carrying IPFIX messages to a collector. UDP: one message per datagram,
// sent as built (a failed send drops its records). TCP (RFC 7011 section
// 10.4): a stream of messages; the connection is re-established with
// exponential backoff, the templates are sent first on every connection,
// and while disconnected messages wait in a bounded queue (beyond it they
// are dropped and counted, never held without limit).
import * as dgram from 'dgram';
import * as net from 'net';
import EventEmitter from 'eventemitter3';
import { ConntrackError } from '../../errors';

export interface Collector {
  host: string;
  port: number;
}

/** 'host:port', '[v6addr]:port' or 'v6addr' forms are refused without brackets. */
export function parseCollector(s: string): Collector {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]*):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `collector must be HOST:PORT or [IPV6]:PORT, not '${s}'`);
  }
  return { host: m[1] === '' ? '127.0.0.1' : m[1], port };
}

export interface TransportEvents {
  /** Records of a message reached the socket (UDP: sent; TCP: written to the connection). */
  sent: (records: number, bytes: number) => void;
  /** Records of a message were dropped (send error, full queue). */
  dropped: (records: number) => void;
  /** TCP connection established (the exporter then sends its templates). */
  connect: () => void;
  /** TCP connection lost or failed; a reconnect follows after `delayMs`. */
  disconnect: (err: Error | undefined, delayMs: number) => void;
}

export interface Transport extends EventEmitter<TransportEvents> {
  readonly kind: 'udp' | 'tcp';
  /** Send one message carrying `records` data records. */
  send(msg: Buffer, records: number): void;
  /** Send now, ahead of queued messages (TCP: templates on connect). */
  sendFirst?(msgs: Buffer[]): void;
  close(): Promise<void>;
}

export class UdpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly kind = 'udp';
  private readonly sock: dgram.Socket;
  private pending = 0;
  private closing: (() => void) | undefined;

  constructor(private readonly to: Collector) {
    super();
    this.sock = dgram.createSocket(net.isIPv6(to.host) ? 'udp6' : 'udp4');
    this.sock.on('error', () => undefined); // send errors arrive in the callbacks
  }

  send(msg: Buffer, records: number): void {
    this.pending++;
    this.sock.send(msg, this.to.port, this.to.host, (err) => {
      this.pending--;
      if (err) this.emit('dropped', records);
      else this.emit('sent', records, msg.length);
      if (this.pending === 0) this.closing?.();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => this.sock.close(() => resolve());
      if (this.pending === 0) done();
      else this.closing = done;
    });
  }
}

export interface TcpOptions {
  /** Bytes of messages kept while disconnected or while the socket is backed up (default 4 MiB). */
  maxBuffer?: number;
  /** First reconnect delay (default 200 ms), doubled up to maxBackoff. */
  minBackoff?: number;
  /** Longest reconnect delay (default 30 s). */
  maxBackoff?: number;
}

export class TcpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly kind = 'tcp';
  private sock: net.Socket | undefined;
  private connected = false;
  private queue: { msg: Buffer; records: number }[] = [];
  private queued = 0;
  private backoff: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly maxBuffer: number;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;

  constructor(private readonly to: Collector, opts: TcpOptions = {}) {
    super();
    this.maxBuffer = opts.maxBuffer ?? 4 << 20;
    this.minBackoff = opts.minBackoff ?? 200;
    this.maxBackoff = opts.maxBackoff ?? 30_000;
    this.backoff = this.minBackoff;
    // connect on the next tick, so listeners (templates on 'connect') are in place
    setImmediate(() => this.connect());
  }

  /** Messages waiting for the connection (bytes). */
  get buffered(): number {
    return this.queued + (this.sock?.writableLength ?? 0);
  }

  private connect(): void {
    if (this.closed) return;
    const s = net.connect({ host: this.to.host, port: this.to.port });
    this.sock = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.connected = true;
      this.backoff = this.minBackoff;
      this.emit('connect');
      const q = this.queue;
      this.queue = [];
      this.queued = 0;
      for (const m of q) this.write(m.msg, m.records);
    });
    s.on('error', () => undefined); // 'close' follows
    s.on('close', (hadError) => {
      this.connected = false;
      this.sock = undefined;
      if (this.closed) return;
      const delay = this.backoff;
      this.backoff = Math.min(this.backoff * 2, this.maxBackoff);
      this.emit('disconnect', hadError ? new Error('connection error') : undefined, delay);
      this.timer = setTimeout(() => this.connect(), delay);
    });
    // a collector that sends anything back is ignored
    s.on('data', () => undefined);
  }

  private write(msg: Buffer, records: number): void {
    const s = this.sock as net.Socket;
    s.write(msg, (err) => {
      if (err) this.emit('dropped', records);
      else this.emit('sent', records, msg.length);
    });
  }

  send(msg: Buffer, records: number): void {
    if (this.closed) {
      this.emit('dropped', records);
      return;
    }
    if (this.connected && this.sock && this.sock.writableLength + msg.length <= this.maxBuffer) {
      this.write(msg, records);
      return;
    }
    if (!this.connected && this.queued + msg.length <= this.maxBuffer) {
      this.queue.push({ msg, records });
      this.queued += msg.length;
      return;
    }
    this.emit('dropped', records);
  }

  /** Templates go out before anything queued (called from 'connect'). */
  sendFirst(msgs: Buffer[]): void {
    if (!this.connected || !this.sock) return;
    for (const m of msgs) this.sock.write(m);
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const dropped = this.queue.reduce((n, m) => n + m.records, 0);
    this.queue = [];
    this.queued = 0;
    if (dropped > 0) this.emit('dropped', dropped);
    const s = this.sock;
    if (!s || !this.connected) {
      s?.destroy();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.end();
      // a collector that never reads must not hold the exporter open
      setTimeout(() => s.destroy(), 2000).unref();
    });
  }
}
