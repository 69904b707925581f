// Replay of captured netlink traffic (pcap, LINKTYPE_NETLINK) through the
// real decoding path: datagrams are copied into the decoder's receive arena
// in batches, exactly as the socket host fills it, then decoded in WASM.
import { Decoder, type Ctx0103 } from './decoder';
import { ConntrackError } from './errors';
import * as L from './generated/layout';
import { toMessage, decodeError } from './materialize';
import { PcapCursor, PcapFileCursor, NETLINK_NETFILTER } from './pcap';
import type { RecordView } from './record';
import type { Message } from './types';

/** One decoded message of a capture, with the time its datagram was received. */
export interface ReplayItem {
  /** The decoded message as a plain object. */
  message: Message;
  /** pcap record time stamp: when the datagram was received (seconds, microseconds). */
  tsSec: number;
  /** Microseconds part of the time stamp (0..999999). */
  tsUsec: number;
  /** Index of the datagram (pcap record) in the capture, from 0. */
  datagram: number;
}

/** Options of {@link replay}, {@link replayAll} and {@link replayRecords}. */
export interface ReplayOptions {
  /** See DecoderOptions.ctx0103: which request the captured replies answer. */
  ctx0103?: Ctx0103;
  /**
   * What to do with a malformed message: 'throw' (default) rejects with
   * ConntrackError('ERR_CT_DECODE'); 'skip' drops it and goes on (see `onBad`).
   */
  bad?: 'throw' | 'skip';
  /** Called for each malformed message when bad = 'skip'. */
  onBad?: (err: ConntrackError, datagram: number) => void;
  /** Use the bounds-instrumented decoder (slower). */
  checked?: boolean;
  /** Reuse this decoder instead of creating one. */
  decoder?: Decoder;
  /** Only flows this filter matches become records (evaluated in WASM; FilterBuilder/ConntrackFilter.compile()). */
  filter?: Uint8Array;
}

/** Receives each decoded record of a batch through the reused view. */
export type RecordCallback = (rec: RecordView, tsSec: number, tsUsec: number, datagram: number) => void;

/**
 * A filled arena: datagram d of the batch (d < count) is capture datagram
 * index[d] (not first + d: datagrams of other protocols are skipped),
 * received at tsSec[d].tsUsec[d].
 */
interface Batch {
  count: number;
  index: Uint32Array;
  tsSec: Uint32Array;
  tsUsec: Uint32Array;
}

/**
 * Batches the decoder's arena with the datagrams of a capture: add() each
 * datagram; when the arena is full it returns false, the caller decodes the
 * batch, calls restart() and adds the datagram again. The batch object and
 * its time stamp arrays (one slot per descriptor) are reused: a batch is
 * decoded before the next one is filled, and nothing is allocated per datagram.
 */
class Batcher {
  readonly batch: Batch = { count: 0, index: new Uint32Array(L.DESC_MAX), tsSec: new Uint32Array(L.DESC_MAX), tsUsec: new Uint32Array(L.DESC_MAX) };

  constructor(private readonly dec: Decoder) {
    dec.reset();
  }

  /** Put capture datagram `index` into the arena; false (nothing added) when the batch is full. */
  add(index: number, data: Uint8Array, truncated: boolean, tsSec: number, tsUsec: number): boolean {
    if (!this.dec.push(data, 0, truncated)) return false;
    const b = this.batch;
    const d = b.count++;
    b.index[d] = index;
    b.tsSec[d] = tsSec;
    b.tsUsec[d] = tsUsec;
    return true;
  }

  /** After a full batch was decoded: start the next one. */
  restart(): void {
    this.dec.reset();
    this.batch.count = 0;
  }

  /** The last, partly filled batch (undefined when empty); the decoder is reset afterwards by done(). */
  rest(): Batch | undefined {
    return this.batch.count > 0 ? this.batch : undefined;
  }

  done(): void {
    this.dec.reset();
  }
}

/**
 * Fill the decoder's arena with as many datagrams of the capture as fit and
 * yield; the consumer decodes the batch before asking for the next one.
 * Datagrams of other netlink protocols than NETLINK_NETFILTER are skipped.
 * A capture in memory is read synchronously (no promise per datagram); a
 * file awaits only when its read window runs dry (PcapFileCursor).
 */
async function* batches(source: string | Uint8Array, dec: Decoder): AsyncGenerator<Batch> {
  if (typeof source !== 'string') {
    yield* bufferBatches(source, dec);
    return;
  }
  const cur = await PcapFileCursor.open(source);
  try {
    const batcher = new Batcher(dec);
    for (let i = 0; cur.next() || ((await cur.fill()) && cur.next()); i++) {
      if (cur.protocol !== NETLINK_NETFILTER) continue;
      // the view is only read by push(), before the next fill() moves the window
      const data = cur.bytes.subarray(cur.dataStart, cur.dataEnd);
      const truncated = cur.dataEnd - cur.dataStart < cur.origLen;
      if (!batcher.add(i, data, truncated, cur.tsSec, cur.tsUsec)) {
        yield batcher.batch;
        batcher.restart();
        batcher.add(i, data, truncated, cur.tsSec, cur.tsUsec); // fits an empty arena (or push throws)
      }
    }
    const rest = batcher.rest();
    if (rest) yield rest;
    batcher.done();
  } finally {
    await cur.close();
  }
}

/**
 * A capture in memory, batch by batch, through one reused PcapCursor: no
 * record object, DataView or promise per datagram; the only per-datagram
 * allocation is the Uint8Array view that Decoder.push() takes.
 */
function* bufferBatches(source: Uint8Array, dec: Decoder): Generator<Batch> {
  const cur = new PcapCursor(source);
  const batcher = new Batcher(dec);
  const bytes = cur.bytes;
  for (let i = 0; cur.next(); i++) {
    if (cur.protocol !== NETLINK_NETFILTER) continue;
    const data = bytes.subarray(cur.dataStart, cur.dataEnd);
    const truncated = cur.dataEnd - cur.dataStart < cur.origLen;
    if (!batcher.add(i, data, truncated, cur.tsSec, cur.tsUsec)) {
      yield batcher.batch;
      batcher.restart();
      batcher.add(i, data, truncated, cur.tsSec, cur.tsUsec); // fits an empty arena (or push throws)
    }
  }
  const rest = batcher.rest();
  if (rest) yield rest;
  batcher.done();
}

/** Decode the batch in the decoder's arena, every record to onRecord. */
function decodeBatch(dec: Decoder, b: Batch, onRecord: RecordCallback): void {
  for (let n = dec.decodeNext(); n > 0; n = dec.decodeNext()) {
    for (let i = 0; i < n; i++) {
      const r = dec.record(i);
      const d = r.datagram;
      onRecord(r, b.tsSec[d], b.tsUsec[d], b.index[d]);
    }
  }
}

function decoderFor(opts: ReplayOptions): Decoder {
  const d = opts.decoder ?? new Decoder({ checked: opts.checked, ctx0103: opts.ctx0103 });
  if (opts.decoder && opts.ctx0103) d.setContext0103(opts.ctx0103);
  if (opts.filter !== undefined) d.setFilter(opts.filter);
  return d;
}

/**
 * Feed a capture through a decoder, batch by batch, calling `onRecord` for
 * every decoded record (KIND_BAD records included: check `rec.kind`). This is
 * the allocation-free path; the view is valid only inside the callback.
 */
export async function replayRecords(source: string | Uint8Array, onRecord: RecordCallback, opts: ReplayOptions = {}): Promise<void> {
  const dec = decoderFor(opts);
  if (typeof source !== 'string') {
    // bytes in memory: no await per batch either
    for (const b of bufferBatches(source, dec)) decodeBatch(dec, b, onRecord);
    return;
  }
  for await (const b of batches(source, dec)) decodeBatch(dec, b, onRecord);
}

/**
 * Replay a capture (file path or bytes) as decoded messages with their
 * receive times. Streaming: a multi-GB file is never loaded whole; memory is
 * bounded by one arena batch of decoded messages. A malformed message rejects
 * with ConntrackError('ERR_CT_DECODE') after the messages before it, unless
 * `bad: 'skip'`.
 *
 * @example
 * for await (const { message } of replay('events.pcap')) {
 *   if (message.kind === 'flow') console.log(message.event, message.orig?.src);
 * }
 */
export async function* replay(source: string | Uint8Array, opts: ReplayOptions = {}): AsyncGenerator<ReplayItem> {
  const dec = decoderFor(opts);
  const skip = opts.bad === 'skip';
  for await (const b of batches(source, dec)) {
    const items: ReplayItem[] = [];
    let failure: ConntrackError | undefined;
    decode: for (let n = dec.decodeNext(); n > 0; n = dec.decodeNext()) {
      for (let i = 0; i < n; i++) {
        const r = dec.record(i);
        const d = r.datagram;
        if (r.kind === L.KIND_BAD) {
          const err = decodeError(r);
          if (!skip) {
            failure = err;
            break decode;
          }
          opts.onBad?.(err, b.index[d]);
          continue;
        }
        items.push({ message: toMessage(r), tsSec: b.tsSec[d], tsUsec: b.tsUsec[d], datagram: b.index[d] });
      }
    }
    yield* items;
    if (failure) throw failure;
  }
}

/** Replay a whole capture into an array (convenience for tests of your own code). */
export async function replayAll(source: string | Uint8Array, opts: ReplayOptions = {}): Promise<ReplayItem[]> {
  const out: ReplayItem[] = [];
  for await (const it of replay(source, opts)) out.push(it);
  return out;
}
