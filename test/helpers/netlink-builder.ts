// Builds netlink / ctnetlink bytes for tests, independently of the decoder.
// Host byte order is little endian (x86_64, as in the fixtures); attribute
// integer payloads are big endian like the kernel's.

export const NLA_F_NESTED = 0x8000;

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** nlattr {u16 len, u16 type} + payload, padded to 4 (set `unpadded` to omit the padding). */
export function attr(type: number, payload: Uint8Array | number[], unpadded = false): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  const len = 4 + p.length;
  const out = new Uint8Array(unpadded ? len : pad4(len));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, len, true);
  dv.setUint16(2, type, true);
  out.set(p, 4);
  return out;
}

/** Nested attribute (NLA_F_NESTED set like the kernel does). */
export function nest(type: number, ...children: Uint8Array[]): Uint8Array {
  return attr(type | NLA_F_NESTED, concat(...children));
}

export function u8(type: number, v: number): Uint8Array {
  return attr(type, [v & 0xff]);
}
export function be16(type: number, v: number): Uint8Array {
  return attr(type, [(v >>> 8) & 0xff, v & 0xff]);
}
export function be32(type: number, v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, false);
  return attr(type, b);
}
export function be64(type: number, v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, false);
  return attr(type, b);
}
export function str(type: number, s: string): Uint8Array {
  return attr(type, [...Buffer.from(s, 'utf8'), 0]);
}
/** IPv4 dotted quad -> 4 bytes. */
export function ip4(a: string): number[] {
  return a.split('.').map(Number);
}
/** Full (uncompressed) IPv6 in 8 groups, or with one '::'. */
export function ip6(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out: number[] = [];
  for (const g of groups) {
    const v = parseInt(g, 16);
    out.push(v >> 8, v & 0xff);
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface MsgHeader {
  type: number;
  flags?: number;
  seq?: number;
  pid?: number;
}

/** nlmsghdr {u32 len, u16 type, u16 flags, u32 seq, u32 pid} + body, padded to 4. */
export function nlmsg(h: MsgHeader, body: Uint8Array): Uint8Array {
  const len = 16 + body.length;
  const out = new Uint8Array(pad4(len));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, h.type, true);
  dv.setUint16(6, h.flags ?? 0, true);
  dv.setUint32(8, h.seq ?? 0, true);
  dv.setUint32(12, h.pid ?? 0, true);
  out.set(body, 16);
  return out;
}

/** nfgenmsg {u8 family, u8 version, be16 res_id}. */
export function nfgen(family: number, resId = 0, version = 0): Uint8Array {
  return Uint8Array.from([family, version, (resId >> 8) & 0xff, resId & 0xff]);
}

/** A ctnetlink message: header + nfgenmsg + attributes. */
export function ctmsg(h: MsgHeader, family: number, ...attrs: Uint8Array[]): Uint8Array {
  return nlmsg(h, concat(nfgen(family), ...attrs));
}
