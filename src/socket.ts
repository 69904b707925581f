// One NETLINK_NETFILTER socket paired with one Decoder. The native host
// receives straight into the decoder's WASM arena (one copy: kernel -> arena)
// and calls back once per batch; this class tells the decoder how many
// datagrams arrived and either completes a pending request or hands the batch
// to a listener. Requests and event listening use separate sockets, as
// conntrack-tools does: a listener sees every message, a request only the
// replies to its own sequence number.
import { ConntrackError } from './errors';
import { Decoder, type Ctx0103, type DecoderOptions } from './decoder';
import * as A from './generated/attrs';
import * as L from './generated/layout';
import { loadHost, native, toConntrackError, type NativeSocket, type NativeSystemError, type RcvBufResult } from './host';
import type { Message, NetlinkError } from './types';
import type { RecordView } from './record';
import { decodeError, toMessage } from './materialize';
import { constants as osConstants, endianness } from 'os';

export interface SocketOptions {
  /** Network namespace: a name (/var/run/netns/NAME, as `ip netns` makes) or a path such as /proc/PID/ns/net. */
  netns?: string;
  /** Receive buffer in bytes. SO_RCVBUFFORCE is tried first; without CAP_NET_ADMIN it falls back to SO_RCVBUF (capped by net.core.rmem_max) with a warning. */
  rcvBuf?: number;
  /** Multicast groups to join (NFNLGRP_CONNTRACK_NEW 1, _UPDATE 2, _DESTROY 3, NFNLGRP_CONNTRACK_EXP_* 4..6). */
  groups?: number[];
  /** NETLINK_EXT_ACK: kernel errors carry an explanation (default true). */
  extAck?: boolean;
  /** Datagrams received per wake-up of the event loop (default 256, at most DESC_MAX). */
  maxPerWake?: number;
  /** Options of the decoder this socket owns. */
  decoder?: DecoderOptions;
}

export interface RequestOptions {
  /**
   * How the decoder reads nlmsg_type 0x0103 in the replies (CTRZERO flows vs
   * expectation statistics); applied when the request starts, default 'guess'.
   */
  ctx0103?: Ctx0103;
  /** A compiled filter program (FilterBuilder.compile()) the decoder applies to the replies; none by default. */
  filter?: Uint8Array;
  /** Milliseconds without any reply datagram before giving up (default 5000); paused time does not count. */
  timeout?: number;
}

/** What a listener learns about each batch besides the datagrams themselves. */
export interface ListenBatch {
  /** Datagrams in the decoder's batch. */
  count: number;
  /** The kernel dropped messages before this batch (ENOBUFS): events were lost; take a dump to resync. */
  enobufs: boolean;
  /** Some datagram was cut (MSG_TRUNC); its messages decode as ERR_CT_DECODE. */
  truncated: boolean;
}

/**
 * Called once per batch with the decoder holding it. Read it before returning
 * (decodeNext()/record(i) for flyweight views, or messages()): the next batch
 * overwrites the arena.
 */
export type ListenHandler = (decoder: Decoder, batch: ListenBatch) => void;

const DEFAULT_MAX_PER_WAKE = 256;
const DEFAULT_TIMEOUT_MS = 5000;
const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/** Receives each reply record of a streamed request (valid only during the call). */
export type ReplyRecordHandler = (rec: RecordView) => void;

interface PendingRequest {
  seq: number;
  messages: Message[];
  /** Streaming: records go here instead of into `messages`. */
  onRecord?: ReplyRecordHandler;
  /** Streaming one kind (streamRecords): the KIND_* handed to onRecord; -1 for every reply record. */
  only: number;
  /** Streaming: records handed to onRecord so far (also when the request fails later). */
  delivered: { n: number };
  interrupted: boolean; // some reply carried NLM_F_DUMP_INTR
  /** Pipelined requests: ACKs awaited (one per message) and each one's errno, in order. */
  acks?: { expected: number; errnos: number[] };
  timer: NodeJS.Timeout;
  resolve(messages: Message[]): void;
  reject(err: unknown): void;
}

interface Listener {
  onBatch: ListenHandler;
  onError?: (err: unknown) => void;
}


/** Map a kernel NLMSG_ERROR to the library's error codes. */
export function kernelError(m: NetlinkError): ConntrackError {
  const e = osConstants.errno;
  const ext = m.extAckMessage !== undefined ? ` (${m.extAckMessage})` : '';
  const details = { errno: m.errno, ...(m.extAckMessage !== undefined ? { extAck: m.extAckMessage } : {}) };
  switch (m.errno) {
    case e.ENOENT:
      return new ConntrackError('ERR_CT_NOT_FOUND', `no such conntrack entry (ENOENT)${ext}`, details);
    case e.EEXIST:
      return new ConntrackError('ERR_CT_EXISTS', `the entry already exists (EEXIST)${ext}`, details);
    case e.EPERM:
    case e.EACCES:
      return new ConntrackError('ERR_CT_PERMISSION', `the kernel refused the request: needs CAP_NET_ADMIN in the socket's network namespace (run as root)${ext}`, details);
    default:
      return new ConntrackError('ERR_CT_KERNEL', `the kernel rejected the request with errno ${m.errno} (${errnoName(m.errno)})${ext}`, details);
  }
}

function isPositiveInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0;
}

export class NetlinkSocket {
  /** The decoder whose arena this socket receives into. */
  readonly decoder: Decoder;
  private readonly sock: NativeSocket;
  private readonly maxPerWake: number;
  private readonly port: number;
  private started = false; // native start() called
  private polling = false; // started and not paused
  private userPaused = false;
  private pending: PendingRequest | undefined;
  private listener: Listener | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;

  private constructor(sock: NativeSocket, decoder: Decoder, maxPerWake: number) {
    this.sock = sock;
    this.decoder = decoder;
    this.maxPerWake = maxPerWake;
    this.port = sock.portId;
  }

  /**
   * Open a socket (in `netns` if given), bind it (the kernel picks the port
   * id), enable NETLINK_EXT_ACK, size the receive buffer, join `groups`, and
   * point the host at the decoder's receive arena.
   */
  static open(opts: SocketOptions = {}): NetlinkSocket {
    if (opts.netns !== undefined && (typeof opts.netns !== 'string' || opts.netns === '')) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'netns must be a non-empty name or path');
    }
    if (opts.rcvBuf !== undefined && !isPositiveInt(opts.rcvBuf)) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'rcvBuf must be a positive integer (bytes)');
    }
    const maxPerWake = opts.maxPerWake ?? DEFAULT_MAX_PER_WAKE;
    if (!isPositiveInt(maxPerWake) || maxPerWake > L.DESC_MAX) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `maxPerWake must be an integer in 1..${L.DESC_MAX}`);
    }
    const host = loadHost();
    const decoder = new Decoder(opts.decoder);
    const where = opts.netns !== undefined ? ` in network namespace ${opts.netns}` : '';
    const sock = native(() => new host.NetlinkSocket(opts.netns !== undefined ? { netns: opts.netns } : {}), `opening a NETLINK_NETFILTER socket${where}`);
    try {
      native(() => {
        sock.bind(0);
        if (opts.extAck !== false) sock.setExtAck(true);
        for (const g of opts.groups ?? []) sock.addMembership(g);
        sock.attachArena(decoder.core.memory.buffer, L.ARENA, L.ARENA_SIZE, L.DESC, L.DESC_MAX);
      }, `setting up the socket${where}`);
      const s = new NetlinkSocket(sock, decoder, maxPerWake);
      if (opts.rcvBuf !== undefined) s.setRcvBuf(opts.rcvBuf);
      return s;
    } catch (e) {
      sock.close();
      throw e;
    }
  }

  /** The port id (sockaddr_nl.nl_pid) the kernel assigned to this socket. */
  get portId(): number {
    return this.port;
  }

  get closed(): boolean {
    return this.sock.closed;
  }

  /** The native socket, for options this wrapper does not cover. */
  get native(): NativeSocket {
    return this.sock;
  }

  /** A fresh nlmsg_seq for the next request on this socket. */
  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /**
   * Set the receive buffer. With `force` (default) SO_RCVBUFFORCE is tried;
   * without CAP_NET_ADMIN it falls back to SO_RCVBUF and emits a warning.
   */
  setRcvBuf(bytes: number, force = true): RcvBufResult {
    const r = native(() => this.sock.setRcvBuf(bytes, force), 'setting the receive buffer');
    // Only a real cap is worth a warning (the kernel doubles what it grants):
    // an unprivileged CLI run would otherwise print it before its one error line.
    if (r.forceDenied && r.size < bytes * 2) {
      process.emitWarning(
        `SO_RCVBUFFORCE not permitted (needs CAP_NET_ADMIN); used SO_RCVBUF instead, capped by net.core.rmem_max: ${r.size} bytes instead of ${bytes * 2}. Events may be lost (ENOBUFS) under load.`,
        { type: 'ConntrackWarning', code: 'CT_RCVBUF_CAPPED' },
      );
    }
    return r;
  }

  /** NETLINK_ADD_MEMBERSHIP (NFNLGRP_*). */
  joinGroup(group: number): void {
    native(() => this.sock.addMembership(group), `joining multicast group ${group}`);
  }

  /** NETLINK_DROP_MEMBERSHIP. */
  leaveGroup(group: number): void {
    native(() => this.sock.dropMembership(group), `leaving multicast group ${group}`);
  }

  /** Send one request (or several concatenated) to the kernel; returns bytes sent. */
  send(bytes: Uint8Array): number {
    if (this.sock.closed) throw new ConntrackError('ERR_CT_CLOSED', 'the socket is closed');
    return native(() => this.sock.send(bytes), 'sending a request');
  }

  /**
   * Send a request and collect the decoded replies until NLMSG_DONE (dumps)
   * or the NLMSG_ERROR / ACK answering it. Replies to other sequence numbers
   * or ports (stale, from a request that timed out) are dropped by the
   * decoder. The request must ask for an answer: NLM_F_DUMP or NLM_F_ACK.
   * Requests on one socket run one after another. The kernel runs one dump
   * per socket at a time: after a dump timed out, its rest is still pending
   * and a new dump on the same socket gets EBUSY (ERR_CT_KERNEL); close the
   * socket and open another.
   *
   * Rejects with ERR_CT_NOT_FOUND / ERR_CT_EXISTS / ERR_CT_PERMISSION /
   * ERR_CT_KERNEL for kernel errors, ERR_CT_DUMP_INTERRUPTED when the dump
   * raced with table changes, ERR_CT_DECODE, ERR_CT_CLOSED, or ERR_CT_SYSTEM
   * (ETIMEDOUT after `timeout`, ENOBUFS when replies were lost).
   */
  request(bytes: Uint8Array, seq?: number, opts: RequestOptions = {}): Promise<Message[]> {
    const run = (): Promise<Message[]> => this.runRequest(bytes, seq, opts);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Like request(), but streaming: every reply record (not NLMSG_DONE or the
   * ACK) is handed to `onRecord` through the decoder's reused view as it
   * arrives, and nothing is collected. The promise settles at the end of the
   * reply, with the same errors as request(). A throw from `onRecord` ends
   * the request with that error. Use pause()/resume() for backpressure.
   */
  requestRecords(bytes: Uint8Array, onRecord: ReplyRecordHandler, opts: RequestOptions = {}): Promise<void> {
    const run = (): Promise<void> => this.runRequest(bytes, undefined, opts, onRecord).then(() => undefined);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * requestRecords() for one kind of record (a dump: KIND_FLOW or
   * KIND_EXPECT): other reply records are skipped, and `delivered.n` counts
   * the records handed to `onRecord` (it stays valid when the request fails).
   * Resolves with that count. Conntrack's dumps use it: the records go
   * straight from the reply loop to the caller's function.
   * @internal
   */
  streamRecords(bytes: Uint8Array, kind: number, onRecord: ReplyRecordHandler, opts: RequestOptions = {}, delivered: { n: number } = { n: 0 }): Promise<number> {
    const run = (): Promise<number> => this.runRequest(bytes, undefined, opts, onRecord, undefined, kind, delivered).then(() => delivered.n);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Pipelined requests: `bytes` holds `count` messages that all carry
   * sequence number `seq` and NLM_F_ACK, sent in one datagram. The kernel
   * handles them in order and answers each with an ACK or an error, so the
   * result is each message's errno (0 = done) in the order sent. Errors do
   * not end the request; only a lost reply (ENOBUFS), a timeout or close do.
   */
  requestAcks(bytes: Uint8Array, seq: number, count: number, opts: RequestOptions = {}): Promise<number[]> {
    const run = (): Promise<number[]> => this.runRequest(bytes, seq, opts, undefined, count).then((m) => m as unknown as number[]);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Deliver every batch to `onBatch` (event listening; join groups first).
   * Errors go to `onError`, or are thrown from the event loop when none is given.
   */
  listen(onBatch: ListenHandler, onError?: (err: unknown) => void): void {
    if (this.sock.closed) throw new ConntrackError('ERR_CT_CLOSED', 'the socket is closed');
    if (this.listener || this.pending) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'this socket is already listening or has a request pending; use one socket per role');
    }
    this.listener = onError ? { onBatch, onError } : { onBatch };
    this.decoder.expect(undefined, undefined);
    this.updatePolling();
  }

  /** Stop reading (backpressure): datagrams queue in the kernel up to SO_RCVBUF, then are dropped (ENOBUFS). */
  pause(): void {
    this.userPaused = true;
    this.updatePolling();
  }

  resume(): void {
    this.userPaused = false;
    // a pending request's inactivity clock starts afresh when reading resumes
    this.pending?.timer.refresh();
    this.updatePolling();
  }

  /** Close the socket; a pending request rejects with ERR_CT_CLOSED. Idempotent, safe inside a listener. */
  close(): void {
    this.sock.close();
    this.polling = false;
    this.listener = undefined;
    if (this.pending) this.finish(new ConntrackError('ERR_CT_CLOSED', 'the socket was closed before the reply was complete'));
  }

  // --- internals -----------------------------------------------------------

  private runRequest(
    bytes: Uint8Array, seqArg: number | undefined, opts: RequestOptions, onRecord?: ReplyRecordHandler, acks?: number,
    only = -1, delivered: { n: number } = { n: 0 },
  ): Promise<Message[]> {
    return new Promise<Message[]>((resolve, reject) => {
      if (this.sock.closed) return reject(new ConntrackError('ERR_CT_CLOSED', 'the socket is closed'));
      if (this.listener) return reject(new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'this socket is listening for events; send requests on another socket'));
      const seq = this.requestSeq(bytes, seqArg);
      if (seq instanceof ConntrackError) return reject(seq);
      const timeout = opts.timeout ?? DEFAULT_TIMEOUT_MS;
      if (!isPositiveInt(timeout)) return reject(new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'timeout must be a positive integer (ms)'));

      // An inactivity timeout: re-armed by every batch of the reply, and held
      // while the caller has paused the socket (a slow consumer is not a dead kernel).
      const timer = setTimeout(() => {
        if (this.userPaused) {
          timer.refresh();
          return;
        }
        this.finish(new ConntrackError('ERR_CT_TIMEOUT', `no complete reply to request seq ${seq} within ${timeout} ms`, { errno: osConstants.errno.ETIMEDOUT, syscall: 'recvmsg' }));
      }, timeout);
      this.pending = { seq, messages: [], only, delivered, interrupted: false, timer, resolve, reject };
      if (onRecord) this.pending.onRecord = onRecord;
      if (acks !== undefined) {
        if (!isPositiveInt(acks)) return this.finish(new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'count must be a positive integer'));
        this.pending.acks = { expected: acks, errnos: [] };
      }
      this.decoder.expect(seq, this.port);
      this.decoder.setContext0103(opts.ctx0103 ?? 'guess');
      this.decoder.setFilter(opts.filter ?? null);
      try {
        this.updatePolling();
        this.send(bytes);
      } catch (e) {
        this.finish(e);
      }
    });
  }

  // nlmsg_seq and nlmsg_flags of the request (nlmsghdr, host byte order), checked
  // so a request that would never be answered fails at once instead of timing out.
  private requestSeq(bytes: Uint8Array, seqArg: number | undefined): number | ConntrackError {
    if (!(bytes instanceof Uint8Array) || bytes.length < 16) {
      return new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'a request is a Uint8Array holding at least one nlmsghdr (16 bytes)');
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const flags = dv.getUint16(6, HOST_LITTLE_ENDIAN);
    const seq = dv.getUint32(8, HOST_LITTLE_ENDIAN);
    if (seqArg !== undefined && seqArg >>> 0 !== seq) {
      return new ConntrackError('ERR_CT_INVALID_ARGUMENT', `seq ${seqArg} does not match the request's nlmsg_seq ${seq}`);
    }
    if ((flags & A.NLM_F_ACK) === 0 && (flags & A.NLM_F_DUMP) !== A.NLM_F_DUMP) {
      return new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'the request has neither NLM_F_DUMP nor NLM_F_ACK: the kernel would not say when it is done');
    }
    return seq;
  }

  // Poll while someone waits for data, so an idle socket does not keep the
  // process alive and does not read what nobody will look at.
  private updatePolling(): void {
    if (this.sock.closed) return;
    const want = (this.pending !== undefined || this.listener !== undefined) && !this.userPaused;
    if (want === this.polling) return;
    if (want && !this.started) {
      native(() => this.sock.start((err, count, flags) => this.onBatch(err, count, flags), this.maxPerWake), 'polling the socket');
      this.started = true;
    } else if (want) {
      native(() => this.sock.resume(), 'polling the socket');
    } else {
      this.sock.pause();
    }
    this.polling = want;
  }

  private onBatch(err: NativeSystemError | null, count: number, flags: number): void {
    this.decoder.adoptBatch(count);
    const host = loadHost();
    const info: ListenBatch = {
      count,
      enobufs: (flags & host.BATCH_ENOBUFS) !== 0,
      truncated: (flags & host.BATCH_TRUNC) !== 0,
    };
    // The native side pauses itself after an error (ENOBUFS is a flag, not an error).
    if (err) this.polling = false;
    if (this.pending) this.onReply(err, info);
    else if (this.listener) this.onEvents(this.listener, err, info);
  }

  private onReply(err: NativeSystemError | null, info: ListenBatch): void {
    const p = this.pending as PendingRequest;
    p.timer.refresh();
    if (info.enobufs) {
      return this.finish(new ConntrackError('ERR_CT_SYSTEM', 'replies were lost: the receive buffer overflowed (ENOBUFS); raise rcvBuf', { errno: osConstants.errno.ENOBUFS, syscall: 'recvmsg' }));
    }
    // Walk the records in place: only what the caller keeps is materialized.
    const d = this.decoder;
    for (let n = d.decodeNext(); n > 0; n = d.decodeNext()) {
      for (let i = 0; ;) {
        const at = this.onRecords(p, i, n);
        if (at < 0) return;
        if (at === n) break;
        if (!this.onOtherRecord(p, d.record(at), d.core.bytes[L.RECORDS + at * L.REC_SIZE + L.REC_KIND])) return;
        i = at + 1;
      }
    }
    if (err) this.finish(toConntrackError(err, 'receiving the reply'));
  }

  // Records from..n-1 of the decoder's current chunk (up to REC_MAX) that are
  // of the kind a streamed dump wants (p.only) go to p.onRecord. Returns the
  // index of the first record of another kind (n when there is none), for
  // onReply to hand to onOtherRecord(), or -1 when the request ended. This
  // runs once per entry of a dump, mostly before the JIT has optimized it, so
  // it is kept small: the kind and flags are read from the record bytes, the
  // layout constants are locals, the count is kept in a local. Every path of
  // it runs in the first chunk of a dump (the other kinds, NLMSG_DONE at the
  // end, stay outside), so V8's optimized code for it is not thrown away at
  // the end of the first dump for lack of type feedback. A chunk is short, so
  // V8 switches to optimized code at the next chunk instead of compiling the
  // loop a second time for on-stack replacement.
  private onRecords(p: PendingRequest, from: number, n: number): number {
    const d = this.decoder;
    const bytes = d.core.bytes;
    const view = d.view;
    const only = p.only;
    const onRecord = p.onRecord as ReplyRecordHandler; // called as a plain function, as before
    const KIND = L.REC_KIND;
    const FLAGS = L.REC_NLFLAGS; // nlmsg_flags, a little-endian u16 in WASM memory: NLM_F_DUMP_INTR is in its low byte
    const INTR = A.NLM_F_DUMP_INTR;
    const SIZE = L.REC_SIZE;
    let delivered = 0;
    let i = from;
    for (let base = L.RECORDS + i * SIZE; i < n; i++, base += SIZE) {
      if ((bytes[base + FLAGS] & INTR) !== 0) p.interrupted = true;
      if (bytes[base + KIND] !== only) break;
      view.base = base; // d.record(i)
      delivered++;
      try {
        onRecord(view);
      } catch (e) {
        p.delivered.n += delivered;
        this.finish(e);
        return -1;
      }
      if (this.pending !== p) {
        p.delivered.n += delivered;
        return -1; // closed from the callback
      }
    }
    p.delivered.n += delivered;
    return i;
  }

  // Every record but a streamed dump's entries (kept out of onReply so the
  // optimizing compiler has a small loop to compile). False: the request ended.
  private onOtherRecord(p: PendingRequest, r: RecordView, kind: number): boolean {
    if (kind === L.KIND_BAD) {
      this.finish(decodeError(r));
      return false;
    }
    if (kind === L.KIND_DONE) {
      this.complete(p);
      return false;
    }
    if (kind === L.KIND_ERROR && p.acks) {
      p.acks.errnos.push(Math.abs(r.i32(L.REC_ERRNO)));
      if (p.acks.errnos.length < p.acks.expected) return true;
      this.finish(undefined, p.acks.errnos as unknown as Message[]);
      return false;
    }
    if (kind === L.KIND_ERROR) {
      const m = toMessage(r) as NetlinkError;
      if (m.errno !== 0) this.finish(kernelError(m));
      else this.complete(p);
      return false;
    }
    if (p.only !== -1) return true; // streamRecords(): not the kind asked for
    const onRecord = p.onRecord;
    if (onRecord) {
      p.delivered.n++;
      try {
        onRecord(r);
      } catch (e) {
        this.finish(e);
        return false;
      }
      return this.pending === p;
    }
    p.messages.push(toMessage(r));
    return true;
  }

  private complete(p: PendingRequest): void {
    if (p.interrupted) {
      this.finish(new ConntrackError('ERR_CT_DUMP_INTERRUPTED', 'the dump raced with table changes (NLM_F_DUMP_INTR); retry it'));
    } else {
      this.finish(undefined, p.messages);
    }
  }

  // Settle the pending request (error, or messages) and stop polling if idle.
  private finish(err: unknown, messages?: Message[]): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    if (err !== undefined) p.reject(err);
    else p.resolve(messages ?? []);
    this.updatePolling();
  }

  private onEvents(l: Listener, err: NativeSystemError | null, info: ListenBatch): void {
    if (info.count > 0 || info.enobufs) {
      l.onBatch(this.decoder, info);
    }
    if (err) {
      const e = toConntrackError(err, 'receiving events');
      if (l.onError) l.onError(e);
      else throw e;
    }
  }
}

/** E-name of a positive errno ("EINVAL"), or "unknown". */
function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return 'unknown';
}
