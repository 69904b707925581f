'use strict';
// Records the decode benchmark's corpus from a real kernel: a private
// namespace (ctb-<pid>-N, bench/fill.js) is filled with N entries, dumped once
// with the library's NetlinkSocket (the dump request, then the native
// receiveBatch() into the WASM arena, each datagram copied out as received,
// nothing decoded), and the datagrams are written to a file:
//   repeated [u32 little-endian length][datagram bytes], no padding
// which bench/anchors/nfct_decode.c and bench/anchors/go/main.go read too, so
// every decoder runs over the same bytes. The namespace is deleted afterwards
// (and on failure / SIGINT / SIGTERM by fill.js's handlers).
//
//   node bench/capture.js N FILE     record N entries into FILE

const fs = require('fs');
const path = require('path');

const DIST = path.join(__dirname, '..', 'dist');

/** Dump namespace `ns` raw; returns an array of datagram copies (Buffer). */
function rawDump(ns) {
  const { NetlinkSocket } = require(path.join(DIST, 'socket.js'));
  const { dumpRequest } = require(path.join(DIST, 'encode.js'));
  const { loadHost } = require(path.join(DIST, 'host.js'));
  const L = require(path.join(DIST, 'generated', 'layout.js'));
  const host = loadHost();
  const sock = NetlinkSocket.open({ netns: ns, rcvBuf: 4 << 20 });
  try {
    const nat = sock.native;
    nat.send(dumpRequest(sock.decoder.core, sock.nextSeq()));
    const out = [];
    for (let done = false; !done;) {
      const b = nat.receiveBatch(L.DESC_MAX);
      if (b.enobufs) throw new Error('ENOBUFS during the capture dump');
      const mem = Buffer.from(sock.decoder.core.memory.buffer);
      const dv = new DataView(sock.decoder.core.memory.buffer);
      for (let i = 0; i < b.count; i++) {
        const d = L.DESC + i * host.DESC_SIZE;
        const off = L.ARENA + dv.getUint32(d + host.DESC_OFF, true);
        const len = dv.getUint32(d + host.DESC_LEN, true);
        const copy = Buffer.from(mem.subarray(off, off + len)); // copy: the arena is reused
        out.push(copy);
        // NLMSG_DONE (type 3) ends a dump; it is the last message of its datagram
        if (len >= 20 && copy.readUInt32LE(len - 20) === 20 && copy.readUInt16LE(len - 16) === 3) done = true;
        if (len >= 16 && copy.readUInt16LE(4) === 2) throw new Error('NLMSG_ERROR in the dump reply');
      }
    }
    return out;
  } finally {
    sock.close();
  }
}

/** Fill a fresh namespace with `n` entries and capture one dump into `file`. */
async function capture(n, file, log = console.log) {
  const { createNs, destroyNs, fill, count } = require('./fill.js');
  const { name } = createNs(Math.max(n * 2, 262144));
  try {
    const f = await fill(name, 0, n);
    const got = await count(name);
    if (got !== n) throw new Error(`capture namespace has ${got} entries, wanted ${n}`);
    const t0 = process.hrtime.bigint();
    const dgrams = rawDump(name);
    const dumpS = Number(process.hrtime.bigint() - t0) / 1e9;
    const parts = [];
    for (const d of dgrams) {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(d.length, 0);
      parts.push(h, d);
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.concat(parts));
    log(`captured ${n} entries from ${name} (filled in ${f.seconds.toFixed(2)} s, dumped in ${dumpS.toFixed(2)} s): ` +
      `${dgrams.length} datagrams -> ${path.relative(process.cwd(), file)}`);
    return { ns: name, fillSeconds: f.seconds, datagrams: dgrams.length };
  } finally {
    destroyNs(name);
  }
}

/** Read a capture file; returns 4-byte aligned Uint8Array views, one per datagram. */
function readCapture(file) {
  const raw = fs.readFileSync(file);
  const lens = [];
  let total = 0;
  for (let p = 0; p + 4 <= raw.length;) {
    const len = raw.readUInt32LE(p);
    if (p + 4 + len > raw.length) throw new Error(`${file}: truncated`);
    lens.push([p + 4, len]);
    total += (len + 3) & ~3;
    p += 4 + len;
  }
  const buf = new Uint8Array(total);
  const datagrams = [];
  let at = 0;
  for (const [p, len] of lens) {
    buf.set(raw.subarray(p, p + len), at);
    datagrams.push(buf.subarray(at, at + len));
    at += (len + 3) & ~3;
  }
  return datagrams;
}

// Wire constants (include/uapi/linux/netfilter/nfnetlink_conntrack.h).
const CTA_TUPLE_ORIG = 1, CTA_TUPLE_IP = 1, CTA_IP_V4_SRC = 1, CTA_ID = 12;

function findAttr(dv, p, end, type) {
  while (p + 4 <= end) {
    const len = dv.getUint16(p, true);
    if (len < 4 || len > end - p) return null;
    if ((dv.getUint16(p + 2, true) & 0x3fff) === type) return [p + 4, len - 4];
    p += (len + 3) & ~3;
  }
  return null;
}

/**
 * The checks every decoder must reproduce, computed by a separate plain walk:
 * number of flow messages, sum of CTA_ID and of the original IPv4 source
 * addresses (both mod 2^32).
 */
function corpusFromCapture(file) {
  const datagrams = readCapture(file);
  let messages = 0, idSum = 0, srcSum = 0, bytes = 0;
  for (const d of datagrams) {
    bytes += d.length;
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    for (let p = 0; p + 16 <= d.length;) {
      const len = dv.getUint32(p, true);
      const type = dv.getUint16(p + 4, true);
      if (len < 16 || len > d.length - p) throw new Error('bad nlmsg_len in capture');
      if (type >> 8 === 1) { // NFNL_SUBSYS_CTNETLINK
        messages++;
        const end = p + len;
        const id = findAttr(dv, p + 20, end, CTA_ID);
        if (id) idSum = (idSum + dv.getUint32(id[0], false)) >>> 0;
        const orig = findAttr(dv, p + 20, end, CTA_TUPLE_ORIG);
        const ip = orig && findAttr(dv, orig[0], orig[0] + orig[1], CTA_TUPLE_IP);
        const v4 = ip && findAttr(dv, ip[0], ip[0] + ip[1], CTA_IP_V4_SRC);
        if (v4) srcSum = (srcSum + dv.getUint32(v4[0], false)) >>> 0;
      }
      p += (len + 3) & ~3;
    }
  }
  return { datagrams, messages, bytes, idSum, srcSum, file, captured: true };
}

module.exports = { capture, readCapture, corpusFromCapture };

if (require.main === module) {
  const n = Number(process.argv[2] || 100000);
  const file = process.argv[3] || path.join(__dirname, 'data', 'capture.bin');
  capture(n, file).then(() => {
    const c = corpusFromCapture(file);
    console.log(`${c.messages} flow messages, ${c.bytes} bytes, idSum ${c.idSum}, srcSum ${c.srcSum}`);
  }).catch((e) => {
    console.error(e.stack || e);
    process.exit(1);
  });
}
