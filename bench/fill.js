#!/usr/bin/env node
'use strict';
// Fill a network namespace's conntrack table fast: IPCTNL_MSG_CT_NEW requests
// (NLM_F_REQUEST|NLM_F_CREATE|NLM_F_EXCL) are encoded once per protocol as a
// template, then copied and patched per entry (source address and ports), and
// 128 of them are concatenated per sendmsg datagram. The first message of
// every 8th datagram carries NLM_F_ACK so the sender paces itself on the kernel
// (and notices errors there); the final count is checked with Conntrack.count().
//
//   node bench/fill.js [N]          create a namespace ctb-<pid>-1, fill it
//                                   with N entries (default 100000), verify
//                                   the count, report the rate, delete it.
//
// Also a module: bench/dump.js uses createNs/destroyNs/fill.
const { execFileSync } = require('child_process');
const path = require('path');
const fs = require('fs');

const DIST = path.join(__dirname, '..', 'dist');
const { NetlinkSocket } = require(path.join(DIST, 'socket.js'));
const { encodeRequest, CT_NEW } = require(path.join(DIST, 'encode.js'));
const { Conntrack } = require(path.join(DIST, 'conntrack.js'));
const A = require(path.join(DIST, 'generated', 'attrs.js'));

const PER_DATAGRAM = 128;
const ACK_EVERY = 1024;

function sh(file, args) {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let nsCounter = 0;
const liveNs = new Set();

function destroyNs(name) {
  if (!liveNs.has(name)) return;
  liveNs.delete(name);
  try {
    sh('ip', ['netns', 'delete', name]);
  } catch (e) {
    process.stderr.write(`warning: ip netns delete ${name}: ${e.message}\n`);
  }
}

// Since Linux 6.x a namespace's nf_conntrack_max cannot exceed the initial
// namespace's: raise that (a limit only; the host's table is not touched) for
// the run and put the old value back at the end.
const INIT_MAX = '/proc/sys/net/netfilter/nf_conntrack_max';
let initMaxSaved = null;
function raiseInitMax(want) {
  const cur = Number(fs.readFileSync(INIT_MAX, 'utf8').trim());
  if (cur >= want) return cur;
  if (initMaxSaved === null) initMaxSaved = cur;
  fs.writeFileSync(INIT_MAX, String(want));
  process.stderr.write(`note: raised the initial namespace's nf_conntrack_max ${cur} -> ${want} for this run (restored at exit)\n`);
  return want;
}
function restoreInitMax() {
  if (initMaxSaved === null) return;
  // Another benchmark process (a ctb- namespace that is not ours) may rely on
  // the raised limit right now: leave it raised then, and say so.
  let others = [];
  try {
    others = sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0])
      .filter((n) => n.startsWith('ctb-') && !n.startsWith(`ctb-${process.pid}-`));
  } catch {
    // no list: restore as usual
  }
  if (others.length > 0) {
    process.stderr.write(`note: left the initial namespace's nf_conntrack_max raised (was ${initMaxSaved}): other benchmark namespaces are in use (${others.join(' ')})\n`);
    initMaxSaved = null;
    return;
  }
  try {
    fs.writeFileSync(INIT_MAX, String(initMaxSaved));
    process.stderr.write(`note: restored the initial namespace's nf_conntrack_max to ${initMaxSaved}\n`);
  } catch (e) {
    process.stderr.write(`warning: could not restore nf_conntrack_max ${initMaxSaved}: ${e.message}\n`);
  }
  initMaxSaved = null;
}

function cleanupAll() {
  for (const n of [...liveNs]) destroyNs(n);
  restoreInitMax();
}

let handlersInstalled = false;
function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      cleanupAll();
      process.exit(130);
    });
  }
}

/** Same steps as test/helpers/netns.ts, plus a large table (nf_conntrack_max, buckets). */
function createNs(maxEntries = 2000000) {
  installHandlers();
  raiseInitMax(maxEntries);
  const name = `ctb-${process.pid}-${++nsCounter}`;
  sh('ip', ['netns', 'add', name]);
  liveNs.add(name);
  const x = (file, args) => sh('ip', ['netns', 'exec', name, file, ...args]);
  x('ip', ['link', 'set', 'lo', 'up']);
  x('nft', ['add', 'table', 'inet', 't']);
  x('nft', ['add', 'chain', 'inet', 't', 'c', '{ type filter hook output priority 0; }']);
  x('nft', ['add', 'rule', 'inet', 't', 'c', 'ct', 'state', 'new', 'counter']);
  x('sysctl', ['-w', 'net.netfilter.nf_conntrack_acct=1', 'net.netfilter.nf_conntrack_timestamp=1']);
  x('sysctl', ['-w', `net.netfilter.nf_conntrack_max=${maxEntries}`]);
  const max = Number(x('sysctl', ['-n', 'net.netfilter.nf_conntrack_max']).trim());
  if (max < maxEntries) throw new Error(`nf_conntrack_max in ${name} is ${max}, wanted ${maxEntries}`);
  let buckets = null;
  try {
    x('sysctl', ['-w', `net.netfilter.nf_conntrack_buckets=${Math.min(1 << 20, maxEntries)}`]);
  } catch (e) {
    // only writable from the initial namespace on most kernels
  }
  try {
    buckets = Number(x('sysctl', ['-n', 'net.netfilter.nf_conntrack_buckets']).trim());
  } catch {
    // unknown
  }
  return { name, buckets, max };
}

function findAll(hay, needle) {
  const out = [];
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    out.push(i);
  }
  return out;
}

// Template for one protocol: the encoded request and where the marker source
// address (10.251.252.253) and source port (0xfedc) sit (orig src, reply dst).
function template(core, proto) {
  const orig = { src: '10.251.252.253', dst: '192.168.200.1', protoNum: proto, srcPort: 0xfedc, dstPort: proto === 6 ? 443 : 53 };
  const reply = { src: orig.dst, dst: orig.src, protoNum: proto, srcPort: orig.dstPort, dstPort: orig.srcPort };
  const flow = { orig, reply, timeout: 3600 };
  if (proto === 6) flow.tcp = { state: A.TCP_CONNTRACK_ESTABLISHED };
  const bytes = encodeRequest(core, { type: CT_NEW, flags: A.NLM_F_REQUEST | A.NLM_F_CREATE | A.NLM_F_EXCL, seq: 1 }, { kind: 'flow', flow });
  const ipAt = findAll(bytes, [10, 251, 252, 253]);
  const portAt = findAll(bytes, [0xfe, 0xdc]);
  if (ipAt.length !== 2 || portAt.length !== 2) throw new Error(`template for proto ${proto}: found address ${ipAt.length}x, port ${portAt.length}x (want 2 each)`);
  return { bytes, ipAt, portAt };
}

/**
 * Create entries index from..to-1 in namespace `ns`. Entry i: protocol TCP
 * for even i, UDP for odd; source 10.a.b.c (a = 1 + (i >> 16) ...) and source
 * port 1024 + (i % 60000) are distinct per i. Returns { created, seconds, errors }.
 */
async function fill(ns, from, to) {
  const sock = NetlinkSocket.open({ netns: ns, rcvBuf: 8 << 20 });
  const core = sock.decoder.core;
  const tpl = { 6: template(core, 6), 17: template(core, 17) };
  const maxLen = Math.max(tpl[6].bytes.length, tpl[17].bytes.length);
  const buf = new Uint8Array(maxLen * PER_DATAGRAM);
  const dv = new DataView(buf.buffer);
  let ackWaits = 0;
  let errors = 0;
  let firstError;
  const t0 = process.hrtime.bigint();
  let i = from;
  let seq = 1;
  while (i < to) {
    let off = 0;
    let ackSeq = 0;
    // The first message of every ACK_EVERY/PER_DATAGRAM-th datagram asks for an ACK
    // (NetlinkSocket.request() keys the reply on the first message's seq).
    const wantAck = Math.floor(i / PER_DATAGRAM) % (ACK_EVERY / PER_DATAGRAM) === 0 || i + PER_DATAGRAM >= to;
    for (let k = 0; k < PER_DATAGRAM && i < to; k++, i++) {
      const t = tpl[(i & 1) === 0 ? 6 : 17];
      buf.set(t.bytes, off);
      // host addresses 10.0.0.0/8 minus .0 / .255 hosts are not a concern for conntrack
      const a = 10, b = (i >>> 16) & 0xff, c = (i >>> 8) & 0xff, d = i & 0xff;
      for (const p of t.ipAt) {
        buf[off + p] = a; buf[off + p + 1] = b + 1; buf[off + p + 2] = c; buf[off + p + 3] = d;
      }
      const port = 1024 + ((i >>> 24) & 0xff);
      for (const p of t.portAt) {
        buf[off + p] = port >>> 8; buf[off + p + 1] = port & 0xff;
      }
      seq = (seq + 1) >>> 0 || 1;
      dv.setUint32(off + 8, seq, true);
      if (k === 0 && wantAck) {
        dv.setUint16(off + 6, dv.getUint16(off + 6, true) | A.NLM_F_ACK, true);
        ackSeq = seq;
      }
      off += t.bytes.length;
    }
    if (ackSeq !== 0) {
      // The ACK datagram paces us: wait for the kernel to have processed this batch.
      // Errors (EEXIST etc. from non-ACK messages) also arrive as NLMSG_ERROR.
      const msgs = await sock.request(buf.subarray(0, off), undefined, { timeout: 30000 }).catch((e) => {
        errors++;
        if (!firstError) firstError = e;
        return [];
      });
      void msgs;
      ackWaits++;
    } else {
      sock.send(buf.subarray(0, off));
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  sock.close();
  return { created: to - from, seconds, ackWaits, errors, firstError };
}

async function count(ns) {
  const ct = await Conntrack.open({ netns: ns });
  try {
    return (await ct.count()).entries;
  } finally {
    ct.close?.();
  }
}

module.exports = { createNs, destroyNs, cleanupAll, fill, count };

if (require.main === module) {
  (async () => {
    const n = Number(process.argv[2] ?? 100000);
    const { name, buckets } = createNs();
    try {
      process.stdout.write(`namespace ${name} (nf_conntrack_buckets ${buckets}), filling ${n} entries, ${PER_DATAGRAM} per datagram, ACK every ${ACK_EVERY}\n`);
      const r = await fill(name, 0, n);
      const got = await count(name);
      process.stdout.write(`created ${n} in ${r.seconds.toFixed(3)} s = ${Math.round(n / r.seconds)} entries/s; ACK waits ${r.ackWaits}, error replies ${r.errors}${r.firstError ? ` (first: ${r.firstError.message})` : ''}\n`);
      process.stdout.write(`Conntrack.count(): ${got} ${got === n ? '(matches)' : '(MISMATCH)'}\n`);
      if (got !== n) process.exitCode = 1;
    } finally {
      cleanupAll();
    }
  })().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    cleanupAll();
    process.exit(1);
  });
}
