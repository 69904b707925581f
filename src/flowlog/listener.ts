// The tracker's connection seam (netbird's `listener` + DialFunc): something
// that delivers conntrack NEW/DESTROY batches into a Decoder and reports when
// it fails. The default dials a ctnetlink socket; a capture file or bytes
// pushed by hand can stand in for it (replay, tests).
import { existsSync } from 'fs';
import { Decoder } from '../decoder';
import { ConntrackError } from '../errors';
import * as A from '../generated/attrs';
import { NETLINK_NETFILTER, readPcapBuffer, readPcapFile, type PcapRecord } from '../pcap';
import { NetlinkSocket } from '../socket';

/** What a listener tells the tracker about each batch besides the datagrams. */
export interface FlowBatchInfo {
  /** The kernel dropped events before this batch (ENOBUFS). */
  enobufs: boolean;
}

/** Receives each batch: the decoder holding its datagrams (decode with decodeNext()) and what else the listener knows. */
export type FlowBatchHandler = (decoder: Decoder, info: FlowBatchInfo) => void;

/**
 * A source of conntrack event batches for the flow logger (netbird's
 * listener): a netlink socket ({@link netlinkDialer}), a capture replay
 * ({@link replayDialer}) or datagrams pushed by hand ({@link ManualListener}).
 */
export interface FlowListener {
  /**
   * Start delivering batches (decode them inside the call). onError reports
   * a failure after which nothing more arrives: the tracker closes the
   * listener and dials a new one. Throws if listening cannot start.
   */
  listen(onBatch: FlowBatchHandler, onError: (err: unknown) => void): void;
  /** Release it; idempotent. */
  close(): void;
}

/** Makes a new listener (netbird's DialFunc); may be async. */
export type FlowDialer = () => FlowListener | Promise<FlowListener>;

/** Options of {@link netlinkDialer}. */
export interface NetlinkDialOptions {
  /** Network namespace name or path of the socket. */
  netns?: string;
  /** Receive buffer in bytes (default 4 MiB). */
  bufferSize?: number;
}

/** ctnetlink socket joined to NFNLGRP_CONNTRACK_NEW and _DESTROY. */
export function netlinkDialer(opts: NetlinkDialOptions = {}): FlowDialer {
  return () => {
    const sock = NetlinkSocket.open({
      netns: opts.netns,
      groups: [A.NFNLGRP_CONNTRACK_NEW, A.NFNLGRP_CONNTRACK_DESTROY],
      rcvBuf: opts.bufferSize ?? 4 << 20,
    });
    return {
      listen(onBatch, onError) {
        sock.listen((d, info) => onBatch(d, { enobufs: info.enobufs }), onError);
      },
      close() {
        sock.close();
      },
    };
  };
}

/**
 * A listener fed by hand: push() decodes datagrams (as received from a
 * NETLINK_NETFILTER socket) into the handler, fail() reports a failure.
 */
export class ManualListener implements FlowListener {
  /** The decoder push() fills and hands to the handler. */
  readonly decoder = new Decoder();
  private handler?: FlowBatchHandler;
  private onError?: (err: unknown) => void;
  private isClosed = false;

  /** Whether close() was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Whether a handler is installed and the listener is not closed (push() delivers). */
  get listening(): boolean {
    return this.handler !== undefined && !this.isClosed;
  }

  listen(onBatch: FlowBatchHandler, onError: (err: unknown) => void): void {
    if (this.isClosed) throw new ConntrackError('ERR_CT_CLOSED', 'the listener is closed');
    this.handler = onBatch;
    this.onError = onError;
  }

  /** Deliver datagrams as one batch; false when nobody listens (closed or not listening yet). */
  push(...datagrams: Uint8Array[]): boolean {
    if (!this.listening) return false;
    const d = this.decoder;
    d.reset();
    for (const g of datagrams) {
      if (!d.push(g)) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'too many datagrams for one batch');
    }
    (this.handler as FlowBatchHandler)(d, { enobufs: false });
    return true;
  }

  /** Report a failure, as a socket error would. */
  fail(err: unknown): void {
    if (this.listening) this.onError?.(err);
  }

  close(): void {
    this.isClosed = true;
  }
}

/** Options of {@link replayDialer}. */
export interface ReplayDialOptions {
  /** Report the end of the capture as a listener failure (the tracker then reconnects). Default false: stay idle. */
  endIsFailure?: boolean;
  /** Called when the whole capture was delivered. */
  onEnd?: () => void;
  /** Called when the capture cannot be read (default: reported as a listener failure). */
  onError?: (err: unknown) => void;
}

/**
 * Replays a capture (pcap of NETLINK_NETFILTER datagrams, e.g. from
 * `ctrack -E` with a capture option or tcpdump -i nflog) through a tracker:
 * each datagram becomes one batch, in order, on the event loop.
 */
export function replayDialer(source: string | Uint8Array, opts: ReplayDialOptions = {}): FlowDialer {
  return () => {
    if (typeof source === 'string' && !existsSync(source)) throw new ConntrackError('ERR_CT_CAPTURE', `capture ${source} does not exist`);
    const l = new ManualListener();
    const listen = l.listen.bind(l);
    l.listen = (onBatch, onError) => {
      listen(onBatch, onError);
      void feed(l, source, opts).catch((e) => (opts.onError ? opts.onError(e) : l.fail(e)));
    };
    return l;
  };
}

async function feed(l: ManualListener, source: string | Uint8Array, opts: ReplayDialOptions): Promise<void> {
  const records: Iterable<PcapRecord> | AsyncIterable<PcapRecord> = typeof source === 'string' ? readPcapFile(source) : readPcapBuffer(source);
  for await (const rec of records) {
    await new Promise((r) => setImmediate(r)); // one batch per turn, like a socket
    if (l.closed) return;
    if (rec.protocol !== NETLINK_NETFILTER) continue;
    l.push(rec.data);
  }
  opts.onEnd?.();
  if (opts.endIsFailure) l.fail(new ConntrackError('ERR_CT_CLOSED', 'end of the capture'));
}
