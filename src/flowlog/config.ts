// Writes the direction config (interface addresses, marks) into a decoder's
// WASM memory, region DIR_CFG (assembly/layout.ts), and switches the
// per-record direction pass of decode() on. assembly/direction.ts reads it.
import { ConntrackError } from '../errors';
import { parseAddress } from '../encode';
import * as L from '../generated/layout';
import type { WasmCore } from '../wasm';
import type { FlowMarks, InterfaceAddress } from './types';

interface Prefix {
  family: number;
  bytes: Uint8Array;
  plen: number;
}

/** "a.b.c.d/len", "x::y/len" or a plain address (full length). */
export function parsePrefix(s: unknown, what: string): Prefix {
  if (typeof s !== 'string') throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `${what} must be a string, not ${typeof s}`);
  const slash = s.indexOf('/');
  const { family, bytes } = parseAddress(slash < 0 ? s : s.slice(0, slash), what);
  const max = bytes.length * 8;
  if (slash < 0) return { family, bytes, plen: max };
  const text = s.slice(slash + 1);
  const plen = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(plen >= 0 && plen <= max)) {
    throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `${what}: prefix length of '${s}' must be 0..${max}`);
  }
  return { family, bytes, plen };
}

/** The network an address/len belongs to (host bits cleared). */
function networkOf(p: Prefix): Prefix {
  const bytes = Uint8Array.from(p.bytes);
  for (let bit = p.plen; bit < bytes.length * 8; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { ...p, bytes };
}

function checkMarks(list: unknown, what: string): number[] {
  if (!Array.isArray(list) || list.length > L.DIR_MAX_MARKS) {
    throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `marks.${what} must be an array of at most ${L.DIR_MAX_MARKS} marks`);
  }
  for (const m of list) {
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > 0xffffffff) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `marks.${what}: ${String(m)} is not a 32-bit mark`);
    }
  }
  return list as number[];
}

/** Validate marks once, at construction. */
export function checkFlowMarks(m: FlowMarks): FlowMarks {
  if (typeof m !== 'object' || m === null) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'marks must be an object');
  const r = m.dataPlane;
  if (r !== undefined) {
    checkMarks(r, 'dataPlane');
    if (r.length !== 2 || r[0] > r[1]) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'marks.dataPlane must be [lowest, highest]');
  }
  return { dataPlane: r, ingress: checkMarks(m.ingress, 'ingress'), egress: checkMarks(m.egress, 'egress') };
}

/** Resolved interface addresses, ready to copy into the config region. */
export interface IfaceConfig {
  v4Ip?: Prefix;
  v4Net?: Prefix;
  v6Ip?: Prefix;
  v6Net?: Prefix;
}

function want(p: Prefix | undefined, family: number, what: string): Prefix | undefined {
  if (p !== undefined && p.family !== family) {
    throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `${what} must be an ${family === 2 ? 'IPv4' : 'IPv6'} address`);
  }
  return p;
}

/**
 * Parse what FlowInterface.address() returned. An ip given as "addr/len"
 * also defines the network when `network` is absent (wgaddr's form).
 */
export function ifaceConfig(a: InterfaceAddress): IfaceConfig {
  if (typeof a !== 'object' || a === null) throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', 'iface.address() must return an object');
  const opt = (v: string | undefined, what: string) => (v === undefined || v === '' ? undefined : parsePrefix(v, what));
  const ip4 = want(opt(a.ip, 'address().ip'), 2, 'address().ip');
  const ip6 = want(opt(a.ipv6, 'address().ipv6'), 10, 'address().ipv6');
  let net4 = want(opt(a.network, 'address().network'), 2, 'address().network');
  let net6 = want(opt(a.ipv6Network, 'address().ipv6Network'), 10, 'address().ipv6Network');
  if (!net4 && ip4 && ip4.plen < 32) net4 = ip4;
  if (!net6 && ip6 && ip6.plen < 128) net6 = ip6;
  return {
    v4Ip: ip4 && { ...ip4, plen: 32 },
    v4Net: net4 && networkOf(net4),
    v6Ip: ip6 && { ...ip6, plen: 128 },
    v6Net: net6 && networkOf(net6),
  };
}

/** Copy the marks and addresses into DIR_CFG of `core` and enable the pass. */
export function writeDirectionConfig(core: WasmCore, iface: IfaceConfig, marks: FlowMarks): void {
  const c = L.DIR_CFG;
  const dv = core.view;
  core.bytes.fill(0, c, c + L.DIR_CFG_SIZE);
  let has = 0;
  if (marks.dataPlane) {
    has |= L.DIRH_MARK_RANGE;
    dv.setUint32(c + L.DIR_MARK_LO, marks.dataPlane[0] >>> 0, true);
    dv.setUint32(c + L.DIR_MARK_HI, marks.dataPlane[1] >>> 0, true);
  }
  core.bytes[c + L.DIR_N_IN] = marks.ingress.length;
  core.bytes[c + L.DIR_N_OUT] = marks.egress.length;
  marks.ingress.forEach((m, i) => dv.setUint32(c + L.DIR_IN_MARKS + 4 * i, m >>> 0, true));
  marks.egress.forEach((m, i) => dv.setUint32(c + L.DIR_OUT_MARKS + 4 * i, m >>> 0, true));
  const put = (p: Prefix | undefined, off: number, bit: number, plenOff?: number) => {
    if (!p) return;
    has |= bit;
    core.bytes.set(p.bytes, c + off);
    if (plenOff !== undefined) core.bytes[c + plenOff] = p.plen;
  };
  put(iface.v4Ip, L.DIR_V4_IP, L.DIRH_V4_IP);
  put(iface.v4Net, L.DIR_V4_NET, L.DIRH_V4_NET, L.DIR_V4_PLEN);
  put(iface.v6Ip, L.DIR_V6_IP, L.DIRH_V6_IP);
  put(iface.v6Net, L.DIR_V6_NET, L.DIRH_V6_NET, L.DIR_V6_PLEN);
  dv.setUint32(c + L.DIR_HAS, has, true);
  dv.setUint32(c + L.DIR_ENABLED, 1, true);
}

/** Switch the direction pass of decode() off again. */
export function disableDirection(core: WasmCore): void {
  core.view.setUint32(L.DIR_CFG + L.DIR_ENABLED, 0, true);
}
