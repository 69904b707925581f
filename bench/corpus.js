'use strict';
// Benchmark corpus: real captured ctnetlink messages, copied many times with
// varied ids and source addresses, packed into dump-style datagrams.
//
// There is no live socket yet, so the corpus is synthetic-from-real: every
// byte except CTA_ID and the original-direction source address comes from a
// message a Linux 6.18 kernel sent (test/fixtures/*/README.md).
//
// Templates (three sources, used in equal thirds, round-robin):
//   - the flow messages of test/fixtures/ipv4-basic/dump.pcap (6, TCP/UDP/ICMP)
//   - the flow messages of test/fixtures/ipv6/dump.pcap       (6, TCP/UDP/ICMPv6)
//   - the event messages of test/fixtures/events-churn/events.pcap (2100 TCP
//     NEW/UPDATE/DESTROY events, with CTA_TIMESTAMP_EVENT)
// NLMSG_DONE and anything that is not a ctnetlink flow message is dropped.

const fs = require('fs');
const path = require('path');
const { readPcapBuffer } = require('../dist/pcap');

const ROOT = path.join(__dirname, '..');
const SOURCES = [
  { name: 'ipv4-basic/dump.pcap', file: 'test/fixtures/ipv4-basic/dump.pcap' },
  { name: 'ipv6/dump.pcap', file: 'test/fixtures/ipv6/dump.pcap' },
  { name: 'events-churn/events.pcap', file: 'test/fixtures/events-churn/events.pcap' },
];

// Wire constants (include/uapi/linux/netfilter/nfnetlink_conntrack.h).
const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG_CT_NEW = 0;
const IPCTNL_MSG_CT_DELETE = 2;
const CTA_TUPLE_ORIG = 1;
const CTA_ID = 12;
const CTA_TUPLE_IP = 1;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V6_SRC = 3;

/** Kernel dump datagrams are at most about 32 KiB (see test/fixtures/README.md). */
const DATAGRAM_MAX = 32768;

/** Split one datagram into its netlink messages (copies, unpadded length). */
function splitMessages(dgram) {
  const dv = new DataView(dgram.buffer, dgram.byteOffset, dgram.byteLength);
  const out = [];
  for (let p = 0; p + 16 <= dgram.length;) {
    const len = dv.getUint32(p, true);
    if (len < 16 || len > dgram.length - p) throw new Error('bad nlmsg_len in fixture');
    out.push(dgram.slice(p, p + len));
    p += (len + 3) & ~3;
  }
  return out;
}

/** Is this a ctnetlink flow message (NEW or DELETE)? */
function isFlow(msg) {
  const type = msg[4] | (msg[5] << 8);
  const subsys = type >> 8, m = type & 0xff;
  return subsys === NFNL_SUBSYS_CTNETLINK && (m === IPCTNL_MSG_CT_NEW || m === IPCTNL_MSG_CT_DELETE);
}

/**
 * Find attribute `type` directly inside [p, end) of `dv`; returns the offset of
 * its payload and its payload length as [off, len], or null.
 */
function findAttr(dv, p, end, type) {
  while (p + 4 <= end) {
    const len = dv.getUint16(p, true);
    if (len < 4 || len > end - p) return null;
    if ((dv.getUint16(p + 2, true) & 0x3fff) === type) return [p + 4, len - 4];
    p += (len + 3) & ~3;
  }
  return null;
}

/** Load the template messages, grouped by source. */
function loadTemplates() {
  return SOURCES.map((s) => {
    const buf = fs.readFileSync(path.join(ROOT, s.file));
    const msgs = [];
    for (const rec of readPcapBuffer(buf)) {
      for (const m of splitMessages(rec.data)) if (isFlow(m)) msgs.push(m);
    }
    if (msgs.length === 0) throw new Error(`no flow messages in ${s.file}`);
    return { name: s.name, msgs };
  });
}

/**
 * Copy `tpl` into `dst` at `at` and rewrite CTA_ID and the original-direction
 * source address from the sequence number `i`.
 */
function writeVariant(dst, at, tpl, i) {
  dst.set(tpl, at);
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  const end = at + tpl.length;
  // Ids: a bijective scramble of i so consecutive messages differ in every byte.
  const id = (Math.imul(i + 1, 0x9e3779b1) >>> 0) || 1;
  const idAttr = findAttr(dv, at + 20, end, CTA_ID);
  if (!idAttr || idAttr[1] !== 4) throw new Error('template without CTA_ID');
  dv.setUint32(idAttr[0], id, false);
  const orig = findAttr(dv, at + 20, end, CTA_TUPLE_ORIG);
  const ip = orig && findAttr(dv, orig[0], orig[0] + orig[1], CTA_TUPLE_IP);
  if (!ip) throw new Error('template without CTA_TUPLE_ORIG/CTA_TUPLE_IP');
  const v4 = findAttr(dv, ip[0], ip[0] + ip[1], CTA_IP_V4_SRC);
  const v6 = findAttr(dv, ip[0], ip[0] + ip[1], CTA_IP_V6_SRC);
  if (v4 && v4[1] === 4) {
    dv.setUint32(v4[0], (0x0a000000 | (i & 0xffffff)) >>> 0, false); // 10.x.y.z
  } else if (v6 && v6[1] === 16) {
    // 2001:db8::/32 with varying low words (some zero runs, some not)
    dv.setUint32(v6[0], 0x20010db8, false);
    dv.setUint32(v6[0] + 4, (i & 7) === 0 ? 0 : (i >>> 3) & 0xffff, false);
    dv.setUint32(v6[0] + 8, 0, false);
    dv.setUint32(v6[0] + 12, (i + 1) >>> 0, false);
  } else {
    throw new Error('template without a source address');
  }
  return id;
}

/**
 * Build the corpus: `count` messages in datagrams of at most DATAGRAM_MAX
 * bytes, all in one ArrayBuffer. Returns { datagrams: Uint8Array[] (views),
 * messages, bytes, perSource, templates }.
 */
function buildCorpus(count) {
  const templates = loadTemplates();
  // First pass: choose templates and lay out datagrams.
  const picks = new Array(count);
  const cursor = templates.map(() => 0);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const s = i % templates.length;
    const list = templates[s].msgs;
    picks[i] = list[cursor[s]++ % list.length];
  }
  const layout = []; // [start message index, end message index, byte length]
  let first = 0, size = 0;
  for (let i = 0; i < count; i++) {
    const padded = (picks[i].length + 3) & ~3;
    if (size + padded > DATAGRAM_MAX && size > 0) {
      layout.push([first, i, size]);
      total += size;
      first = i;
      size = 0;
    }
    size += padded;
  }
  layout.push([first, count, size]);
  total += size;
  // Second pass: write everything into one buffer (datagrams 4-byte aligned).
  const buf = new Uint8Array(total);
  const datagrams = [];
  let at = 0;
  let idSum = 0; // sum of all CTA_ID values mod 2^32: what every decoder pass must reproduce
  for (const [a, b, len] of layout) {
    const start = at;
    for (let i = a; i < b; i++) {
      idSum = (idSum + writeVariant(buf, at, picks[i], i)) >>> 0;
      at += (picks[i].length + 3) & ~3;
    }
    datagrams.push(buf.subarray(start, start + len));
  }
  return {
    datagrams,
    messages: count,
    bytes: total,
    idSum,
    templates: templates.map((t) => ({ name: t.name, messages: t.msgs.length })),
  };
}

module.exports = { buildCorpus, DATAGRAM_MAX };
