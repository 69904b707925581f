// A small classic BPF interpreter for tests: runs a socket filter over one
// netlink message the way the kernel does (net/core/filter.c), including the
// netlink "nla find" ancillary loads (SKF_AD_NLATTR, SKF_AD_NLATTR_NEST).
// Only what socket filters use is implemented; anything else throws, so a
// program the interpreter cannot run fails the test instead of passing.
import {
  BPF_LD, BPF_LDX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC, BPF_W, BPF_H, BPF_B, BPF_IMM, BPF_ABS, BPF_IND,
  BPF_AND, BPF_JA, BPF_JEQ, BPF_K, BPF_TAX, SKF_AD_OFF, SKF_AD_NLATTR, SKF_AD_NLATTR_NEST, type BpfInsn,
} from '../../src/bpf';

const NLA_TYPE_MASK = ~(0x8000 | 0x4000) & 0xffff;
const NLA_HDRLEN = 4;
const align4 = (n: number): number => (n + 3) & ~3;

// nla_find(): first attribute of `type` in [start, start + len), or -1.
function nlaFind(dv: DataView, start: number, len: number, type: number): number {
  let p = start;
  let rem = len;
  // nla_ok(): room for a header, nla_len >= header, nla_len <= remaining
  while (rem >= NLA_HDRLEN) {
    const l = dv.getUint16(p, true);
    if (l < NLA_HDRLEN || l > rem) break;
    if ((dv.getUint16(p + 2, true) & NLA_TYPE_MASK) === type) return p;
    const step = align4(l);
    p += step;
    rem -= step;
  }
  return -1;
}

function ancillary(k: number, skb: Uint8Array, a: number, x: number): number {
  const dv = new DataView(skb.buffer, skb.byteOffset, skb.byteLength);
  const len = skb.length;
  const off = k - SKF_AD_OFF;
  if (off === SKF_AD_NLATTR || off === SKF_AD_NLATTR_NEST) {
    if (len < NLA_HDRLEN || a > len - NLA_HDRLEN) return 0;
    if (off === SKF_AD_NLATTR) {
      const r = nlaFind(dv, a, len - a, x);
      return r < 0 ? 0 : r;
    }
    const nl = dv.getUint16(a, true);
    if (nl > len - a) return 0;
    const r = nlaFind(dv, a + NLA_HDRLEN, nl - NLA_HDRLEN, x);
    return r < 0 ? 0 : r;
  }
  throw new Error(`cbpf: ancillary load ${off} not implemented`);
}

/**
 * Run `prog` on `skb` (one datagram); returns the filter's verdict (0 =
 * drop). An out-of-bounds packet load ends the program with 0, as in the kernel.
 */
export function runBpf(prog: ReadonlyArray<BpfInsn>, skb: Uint8Array): number {
  let A = 0;
  let X = 0;
  const size = (code: number): number => ((code & 0x18) === BPF_W ? 4 : (code & 0x18) === BPF_H ? 2 : 1);
  const load = (at: number, n: number): number | undefined => {
    if (at < 0 || at + n > skb.length) return undefined;
    let v = 0;
    for (let i = 0; i < n; i++) v = (v * 256) + skb[at + i];
    return v >>> 0;
  };
  for (let pc = 0, steps = 0; pc < prog.length; pc++) {
    if (++steps > 100000) throw new Error('cbpf: runaway program');
    const { code, jt, jf, k } = prog[pc];
    const cls = code & 0x07;
    switch (cls) {
      case BPF_LD: {
        const mode = code & 0xe0;
        if (mode === BPF_IMM) A = k >>> 0;
        else if (mode === BPF_ABS && (k | 0) < 0 && (k | 0) >= SKF_AD_OFF) A = ancillary(k | 0, skb, A, X) >>> 0;
        else if (mode === BPF_ABS || mode === BPF_IND) {
          const v = load(mode === BPF_ABS ? k : (X + k) >>> 0, size(code));
          if (v === undefined) return 0;
          A = v;
        } else throw new Error(`cbpf: ld mode 0x${mode.toString(16)} not implemented`);
        break;
      }
      case BPF_LDX:
        if ((code & 0xe0) !== BPF_IMM) throw new Error('cbpf: ldx mode not implemented');
        X = k >>> 0;
        break;
      case BPF_ALU:
        if (code !== (BPF_ALU | BPF_AND | BPF_K)) throw new Error(`cbpf: alu 0x${code.toString(16)} not implemented`);
        A = (A & k) >>> 0;
        break;
      case BPF_JMP: {
        const op = code & 0xf0;
        if (op === BPF_JA) pc += k >>> 0;
        else if (op === BPF_JEQ && (code & 0x08) === BPF_K) pc += A === k >>> 0 ? jt : jf;
        else throw new Error(`cbpf: jmp 0x${code.toString(16)} not implemented`);
        break;
      }
      case BPF_RET:
        if ((code & 0x18) !== BPF_K) throw new Error('cbpf: ret A not implemented');
        return k >>> 0;
      case BPF_MISC:
        if ((code & 0xf8) !== BPF_TAX) throw new Error('cbpf: misc not implemented');
        X = A;
        break;
      default:
        throw new Error(`cbpf: class ${cls} not implemented`);
    }
  }
  throw new Error('cbpf: fell off the end of the program');
}
