// conntrack-tools' entry flags (-s -d -r -q -p --sport ... -t -m -u -w
// --state) turned into the encoder's inputs. Bad values are UsageErrors
// (exit 2, one line), like conntrack's PARAMETER_PROBLEM.
import { parseAddress, type ExpectInput, type FlowInput, type TupleInput } from '../encode';
import { DCCP_STATES, SCTP_STATES, STATUS_FLAG_NAMES, TCP_STATES } from '../format/names';
import { UsageError } from './usage';
import { FilterBuilder } from '../filter';
import { tryLoadLabelMap, labelBit } from '../format/labels';
import type { CliArgs } from './args';

/** The raw option values commander collected (strings), by long name. */
export interface EntryFlagValues {
  src?: string;
  dst?: string;
  replySrc?: string;
  replyDst?: string;
  proto?: string;
  sport?: string;
  dport?: string;
  replyPortSrc?: string;
  replyPortDst?: string;
  icmpType?: string;
  icmpCode?: string;
  icmpId?: string;
  icmpv6Type?: string;
  icmpv6Code?: string;
  icmpv6Id?: string;
  state?: string;
  timeout?: string;
  mark?: string;
  status?: string;
  zone?: string;
  origZone?: string;
  replyZone?: string;
  /** -n / -g / -j: true without a value, or "ip[:port]". */
  srcNat?: string | true;
  dstNat?: string | true;
  anyNat?: string | true;
  /** -l, each a comma list of label names (connlabel.conf) or bit numbers. */
  label?: string[];
  /** -I -p sctp: the verification tags of each direction. */
  origVtag?: string;
  replyVtag?: string;
  /** -U --label-add / --label-del: labels to set / clear, each a comma list like -l. */
  labelAdd?: string[];
  labelDel?: string[];
  /** --mask-src / --mask-dst: with -s / -d of a filter (a netmask instead of /len), or the mask of -I expect. */
  maskSrc?: string;
  maskDst?: string;
  /** -I expect: the expected tuple and the ports of the mask. */
  tupleSrc?: string;
  tupleDst?: string;
  tuplePortSrc?: string;
  tuplePortDst?: string;
  maskPortSrc?: string;
  maskPortDst?: string;
}

/** Label name -> bit (connlabel.conf); undefined when unknown. */
export type LabelResolver = (name: string) => number | undefined;

const PROTOS: Record<string, number> = {
  tcp: 6, udp: 17, udplite: 136, icmp: 1, icmpv6: 58, sctp: 132, gre: 47, dccp: 33,
};

/** Unsigned integer in decimal or 0x hex, at most `max`. */
function uint(v: string, flag: string, max: number): number {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) throw new UsageError(`${flag}: '${v}' is not a number`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n > max) throw new UsageError(`${flag}: ${v} is out of range (0..${max})`);
  return n;
}

function address(v: string, flag: string): string {
  try {
    parseAddress(v, flag);
  } catch {
    throw new UsageError(`${flag}: '${v}' is not an IPv4 or IPv6 address`);
  }
  return v;
}

function protoNumber(v: string): number {
  const p = PROTOS[v.toLowerCase()];
  if (p !== undefined) return p;
  return uint(v, '-p', 255);
}

function stateNumber(v: string, proto: number | undefined): number {
  const table = proto === 132 ? SCTP_STATES : proto === 33 ? DCCP_STATES : TCP_STATES;
  const i = table.indexOf(v.toUpperCase());
  if (i < 0) throw new UsageError(`--state: unknown state '${v}' (valid: ${table.join(', ')})`);
  return i;
}

/** -u ASSURED,SEEN_REPLY,...: IPS_* names, as conntrack accepts them. */
function statusBits(v: string): number {
  let bits = 0;
  for (const name of v.split(',')) {
    const i = STATUS_FLAG_NAMES.indexOf(name.toUpperCase());
    if (i < 0) throw new UsageError(`-u: unknown status '${name}' (e.g. ASSURED, SEEN_REPLY, FIXED_TIMEOUT)`);
    bits |= 1 << i;
  }
  return bits >>> 0;
}

function l4(v: EntryFlagValues, proto: number | undefined, reply: boolean): Partial<TupleInput> {
  const t: { -readonly [K in keyof TupleInput]: TupleInput[K] } = {};
  const sp = reply ? v.replyPortSrc : v.sport;
  const dp = reply ? v.replyPortDst : v.dport;
  if (sp !== undefined) t.srcPort = uint(sp, reply ? '--reply-port-src' : '--sport', 0xffff);
  if (dp !== undefined) t.dstPort = uint(dp, reply ? '--reply-port-dst' : '--dport', 0xffff);
  if ((sp !== undefined || dp !== undefined) && ![6, 17, 136, 132, 33, 47].includes(proto ?? -1)) {
    throw new UsageError('ports need -p tcp, udp, udplite, sctp, dccp (or gre keys)');
  }
  if (!reply) {
    const v6 = proto === 58; // IPPROTO_ICMPV6
    const type = v6 ? v.icmpv6Type : v.icmpType;
    const code = v6 ? v.icmpv6Code : v.icmpCode;
    const id = v6 ? v.icmpv6Id : v.icmpId;
    if (type !== undefined) t.icmpType = uint(type, '--icmp-type', 255);
    if (code !== undefined) t.icmpCode = uint(code, '--icmp-code', 255);
    if (id !== undefined) t.icmpId = uint(id, '--icmp-id', 0xffff);
  }
  return t;
}

/** The original tuple given by -s -d -p --sport --dport / --icmp-*. */
export function origTuple(v: EntryFlagValues): TupleInput {
  const proto = v.proto !== undefined ? protoNumber(v.proto) : undefined;
  const t: { -readonly [K in keyof TupleInput]: TupleInput[K] } = { ...l4(v, proto, false) };
  if (v.src !== undefined) t.src = address(v.src, '-s');
  if (v.dst !== undefined) t.dst = address(v.dst, '-d');
  if (proto !== undefined) t.protoNum = proto;
  if (v.origZone !== undefined) t.zone = uint(v.origZone, '--orig-zone', 0xffff);
  return t;
}

/** A whole entry for -I: tuples, timeout, state, mark, status, zones. */
export function entry(v: EntryFlagValues): FlowInput {
  const orig = origTuple(v);
  const proto = orig.protoNum;
  const f: { -readonly [K in keyof FlowInput]: FlowInput[K] } = { orig };
  if (v.replySrc !== undefined || v.replyDst !== undefined || v.replyPortSrc !== undefined || v.replyPortDst !== undefined || v.replyZone !== undefined) {
    const r: { -readonly [K in keyof TupleInput]: TupleInput[K] } = { ...l4(v, proto, true) };
    r.src = address(v.replySrc ?? v.dst ?? '', '-r');
    r.dst = address(v.replyDst ?? v.src ?? '', '-q');
    if (proto !== undefined) r.protoNum = proto;
    if (r.srcPort === undefined && orig.dstPort !== undefined) r.srcPort = orig.dstPort;
    if (r.dstPort === undefined && orig.srcPort !== undefined) r.dstPort = orig.srcPort;
    if (v.replyZone !== undefined) r.zone = uint(v.replyZone, '--reply-zone', 0xffff);
    f.reply = r;
  }
  if (v.timeout !== undefined) f.timeout = uint(v.timeout, '-t', 0xffffffff);
  if (v.mark !== undefined) {
    const [m, mask] = v.mark.split('/');
    f.mark = uint(m, '-m', 0xffffffff);
    if (mask !== undefined) f.markMask = uint(mask, '-m', 0xffffffff);
  }
  if (v.status !== undefined) f.status = statusBits(v.status);
  if (v.zone !== undefined) f.zone = uint(v.zone, '-w', 0xffff);
  if (v.state !== undefined) {
    const s = stateNumber(v.state, proto);
    if (proto === 132) f.sctp = { state: s };
    else if (proto === 33) f.dccp = { state: s };
    else f.tcp = { state: s };
  }
  if (v.origVtag !== undefined || v.replyVtag !== undefined) {
    if (proto !== 132) throw new UsageError('--orig-vtag and --reply-vtag need -p sctp');
    f.sctp = {
      ...f.sctp,
      ...(v.origVtag !== undefined ? { vtagOriginal: uint(v.origVtag, '--orig-vtag', 0xffffffff) } : {}),
      ...(v.replyVtag !== undefined ? { vtagReply: uint(v.replyVtag, '--reply-vtag', 0xffffffff) } : {}),
    };
  }
  return f;
}

const PORT_PROTOS = [6, 17, 136, 132, 33];

/**
 * -I expect: the master's original tuple (-s -d -p --sport --dport), the
 * expected tuple (--tuple-src --tuple-dst --tuple-port-src --tuple-port-dst)
 * and its mask (--mask-src --mask-dst --mask-port-src --mask-port-dst), and
 * -t. Ports of the tuple and mask default to 0 (any).
 */
export function expectation(v: EntryFlagValues): ExpectInput {
  const master = origTuple(v);
  const proto = master.protoNum;
  const ports = PORT_PROTOS.includes(proto ?? -1);
  const port = (value: string | undefined, flag: string): number | undefined => {
    if (value === undefined) return ports ? 0 : undefined;
    if (!ports) throw new UsageError(`${flag} needs -p tcp, udp, udplite, sctp or dccp`);
    return uint(value, flag, 0xffff);
  };
  const need = (value: string | undefined, flag: string): string => {
    if (value === undefined) throw new UsageError(`-I expect needs the \`${flag}' option`);
    return address(value, flag);
  };
  const tuple: TupleInput = { src: need(v.tupleSrc, '--tuple-src'), dst: need(v.tupleDst, '--tuple-dst'), protoNum: proto, srcPort: port(v.tuplePortSrc, '--tuple-port-src'), dstPort: port(v.tuplePortDst, '--tuple-port-dst') };
  const mask: TupleInput = { src: need(v.maskSrc, '--mask-src'), dst: need(v.maskDst, '--mask-dst'), protoNum: proto, srcPort: port(v.maskPortSrc, '--mask-port-src'), dstPort: port(v.maskPortDst, '--mask-port-dst') };
  const six = (a: string | undefined): boolean => (a ?? '').includes(':');
  if (new Set([six(master.src), six(tuple.src), six(tuple.dst), six(mask.src), six(mask.dst)]).size > 1) {
    throw new UsageError('-I expect: the master, tuple and mask addresses must all be IPv4 or all IPv6');
  }
  if (v.timeout === undefined) throw new UsageError("-I expect needs the `--timeout' option");
  return { master, tuple, mask, timeout: uint(v.timeout, '-t', 0xffffffff) };
}

/**
 * -s ADDR --mask-src MASK, conntrack's spelling of a net: ADDR/MASK for the
 * filter, which takes any netmask of the address's family (a prefix or not).
 */
function withMask(addr: string, mask: string | undefined, flag: string, maskFlag: string): string {
  if (mask === undefined) return cidr(addr, flag);
  if (addr.includes('/')) throw new UsageError(`${flag} ${addr} has a prefix length already; drop it or ${maskFlag}`);
  address(addr, flag);
  try {
    parseAddress(mask, maskFlag);
  } catch {
    throw new UsageError(`${maskFlag}: '${mask}' is not an IPv4 or IPv6 netmask`);
  }
  if (mask.includes(':') !== addr.includes(':')) throw new UsageError(`${maskFlag} ${mask} is not of the family of ${flag} ${addr}`);
  return `${addr}/${mask}`;
}

/**
 * The filter conntrack -L / -D apply for these flags: -s -d (orig, CIDR
 * allowed), -r -q (reply), -p, --sport --dport (orig), --reply-port-src/dst,
 * --icmp-*, --state, -m MARK[/MASK], -u (statuses that must be set), -w
 * (zone), --orig-zone / --reply-zone, and -f. Undefined when no flag filters.
 */
export function filterOf(v: EntryFlagValues, family?: 'ipv4' | 'ipv6', labelBit?: LabelResolver): FilterBuilder | undefined {
  const b = new FilterBuilder();
  let any = false;
  const add = (fn: () => void): void => {
    fn();
    any = true;
  };
  const proto = v.proto !== undefined ? protoNumber(v.proto) : undefined;
  const ports = l4(v, proto, false);
  const replyPorts = l4(v, proto, true);
  if (family) add(() => b.family(family));
  if (proto !== undefined) add(() => b.proto(proto));
  if (v.maskSrc !== undefined && v.src === undefined) throw new UsageError('--mask-src needs -s');
  if (v.maskDst !== undefined && v.dst === undefined) throw new UsageError('--mask-dst needs -d');
  if (v.src !== undefined) add(() => b.src(withMask(v.src as string, v.maskSrc, '-s', '--mask-src'), 'orig'));
  if (v.dst !== undefined) add(() => b.dst(withMask(v.dst as string, v.maskDst, '-d', '--mask-dst'), 'orig'));
  if (v.replySrc !== undefined) add(() => b.src(cidr(v.replySrc as string, '-r'), 'reply'));
  if (v.replyDst !== undefined) add(() => b.dst(cidr(v.replyDst as string, '-q'), 'reply'));
  if (ports.srcPort !== undefined) add(() => b.sport(ports.srcPort as number, 'orig'));
  if (ports.dstPort !== undefined) add(() => b.dport(ports.dstPort as number, 'orig'));
  if (replyPorts.srcPort !== undefined) add(() => b.sport(replyPorts.srcPort as number, 'reply'));
  if (replyPorts.dstPort !== undefined) add(() => b.dport(replyPorts.dstPort as number, 'reply'));
  if (ports.icmpType !== undefined || ports.icmpCode !== undefined || ports.icmpId !== undefined) {
    add(() => b.icmp({ type: ports.icmpType, code: ports.icmpCode, id: ports.icmpId }));
  }
  if (v.state !== undefined) {
    // a protocol option in conntrack: without -p it is an unknown option
    if (proto !== 6 && proto !== 132 && proto !== 33) throw new UsageError('--state needs -p tcp, sctp or dccp');
    const st = stateNumber(v.state, proto);
    add(() => (proto === 132 ? b.sctpState(st) : proto === 33 ? b.dccpState(st) : b.tcpState(st)));
  }
  if (v.mark !== undefined) {
    const [m, mask] = v.mark.split('/');
    add(() => b.mark(uint(m, '-m', 0xffffffff), mask !== undefined ? uint(mask, '-m', 0xffffffff) : 0xffffffff));
  }
  if (v.status !== undefined) {
    const bits = statusBits(v.status);
    add(() => b.status({ has: [bits] })); // a number is a mask of IPS_* bits
  }
  if (v.zone !== undefined) add(() => b.zone(uint(v.zone as string, '-w', 0xffff)));
  if (v.origZone !== undefined) add(() => b.tupleZone(uint(v.origZone as string, '--orig-zone', 0xffff), 'orig'));
  if (v.replyZone !== undefined) add(() => b.tupleZone(uint(v.replyZone as string, '--reply-zone', 0xffff), 'reply'));
  // -n and -g together: both translations (conntrack's filter_nat ANDs them)
  if (v.srcNat !== undefined) add(() => b.nat('src', natTarget(v.srcNat as string | true, '--src-nat')));
  if (v.dstNat !== undefined) add(() => b.nat('dst', natTarget(v.dstNat as string | true, '--dst-nat')));
  if (v.anyNat !== undefined) add(() => b.nat('any', natTarget(v.anyNat as string | true, '--any-nat')));
  for (const group of v.label ?? []) {
    for (const name of group.split(',')) add(() => b.label(labelNumber(name, labelBit)));
  }
  if (v.timeout !== undefined) throw new UsageError('-t is not a filter for -L/-D');
  return any ? b : undefined;
}

/** --src-nat [ip[:port]]: conntrack compares one IPv4 address and/or port. */
function natTarget(v: string | true, flag: string): { ip?: string; port?: number } {
  if (v === true) return {};
  const m = /^([0-9.]*)(?::([0-9]+))?$/.exec(v);
  if (!m || (m[1] === '' && m[2] === undefined)) throw new UsageError(`${flag}: '${v}' is not ip[:port] (an IPv4 address, optionally :port)`);
  const out: { ip?: string; port?: number } = {};
  if (m[1] !== '') {
    address(m[1], flag);
    if (m[1].includes(':')) throw new UsageError(`${flag}: IPv4 only`);
    out.ip = m[1];
  }
  if (m[2] !== undefined) out.port = uint(m[2], flag, 0xffff);
  return out;
}

/**
 * -U --label-add A --label-del B: CTA_LABELS with A's bits and CTA_LABELS_MASK
 * with A's and B's, so the kernel sets A, clears B and keeps the other labels
 * (nf_connlabels_replace). Undefined when neither is given.
 */
export function labelChange(v: EntryFlagValues, labelBit?: LabelResolver): { labels: Uint8Array; labelsMask: Uint8Array } | undefined {
  if (v.labelAdd === undefined && v.labelDel === undefined) return undefined;
  const labels = new Uint8Array(16);
  const labelsMask = new Uint8Array(16);
  const set = (groups: string[] | undefined, flag: string, into: Uint8Array[]): void => {
    for (const group of groups ?? []) {
      for (const name of group.split(',')) {
        const bit = labelNumber(name, labelBit, flag);
        for (const a of into) a[bit >> 3] |= 1 << (bit & 7);
      }
    }
  };
  set(v.labelDel, '--label-del', [labelsMask]);
  set(v.labelAdd, '--label-add', [labels, labelsMask]); // a label both added and deleted ends up set
  return { labels, labelsMask };
}

/** -l NAME: the bit connlabel.conf gives it, or a bit number (0..127). */
function labelNumber(name: string, labelBit: LabelResolver | undefined, flag = '-l'): number {
  const bit = labelBit?.(name);
  if (bit !== undefined) return bit;
  if (/^[0-9]+$/.test(name) && Number(name) < 128) return Number(name);
  throw new UsageError(`${flag}: unknown label '${name}' (not in connlabel.conf; a bit number 0..127 also works)`);
}

/** An address or CIDR for a filter flag (a bare address is /32 or /128). */
function cidr(v: string, flag: string): string {
  const [addr, plen] = v.split('/');
  address(addr, flag);
  if (plen !== undefined && !/^[0-9]{1,3}$/.test(plen)) throw new UsageError(`${flag}: '${v}' has a bad prefix length`);
  return plen === undefined ? (addr.includes(':') ? `${addr}/128` : `${addr}/32`) : v;
}

/** -l names resolved through connlabel.conf (--labels-file), loaded only when -l is given. */
export function labelResolver(labelsFile: string | undefined, entry: EntryFlagValues): LabelResolver | undefined {
  if (entry.label === undefined && entry.labelAdd === undefined && entry.labelDel === undefined) return undefined;
  const map = tryLoadLabelMap(labelsFile).map;
  return (name) => {
    if (!map) return undefined;
    const bit = labelBit(map, name);
    return bit < 0 ? undefined : bit;
  };
}

/** The filter the -L / -D flags of `a` select (undefined when none). */
export function cliFilter(a: CliArgs, entry: EntryFlagValues = a.entry): FilterBuilder | undefined {
  return filterOf(entry, undefined, labelResolver(a.labelsFile, entry));
}
