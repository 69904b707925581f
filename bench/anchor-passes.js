'use strict';
// The decode anchors as passes of the decode benchmark: each "run" starts the
// harness on the capture file (one untimed warm-up pass, then one timed pass
// inside the harness) and reads back the timed pass's time, message count,
// allocations and checksum. They take part in the rotation of every
// repetition like the in-process decoders, so all decoders see the same load.

const { spawnSync } = require('child_process');

/**
 * anchors: bench/anchors/build.js's result; file: the capture;
 * corpus: { messages, idSum, srcSum }. Returns [passes, notBuilt messages].
 */
function makeAnchorPasses(anchors, file, corpus) {
  const passes = [];
  const missing = [];
  const harness = (key, name, what, cmd, args, parse) => ({
    key, name, what, external: true,
    run() {
      const r = spawnSync(cmd, [...args, '1', '1'], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`${name}: ${cmd} exited ${r.status}: ${(r.stderr || '').trim().slice(0, 300)}`);
      const f = r.stdout.trim().split('\n').pop().split(/\s+/).map(Number);
      const x = parse(f);
      if (x.n !== corpus.messages || x.bad) {
        throw new Error(`${name}: decoded ${x.n} messages (checksum ${x.sum}), expected ${corpus.messages} (${x.want})`);
      }
      return x; // { n, ms, cpuMs, allocs, allocBytes }
    },
  });
  const c = anchors.nfct_decode;
  if (c && c.path) {
    const parseC = (f) => ({ n: f[0], ms: f[1] * 1e3, cpuMs: f[5] * 1e3, allocs: f[2], allocBytes: null, sum: f[3], want: corpus.idSum, bad: f[3] !== corpus.idSum });
    passes.push(harness('nfctParse', 'libnetfilter_conntrack parse (C)',
      'bench/anchors/nfct_decode.c parse: nfct_new() + nfct_nlmsg_parse() + nfct_destroy() per message, walked with mnl_nlmsg_next()',
      c.path, [file, 'parse'], parseC));
    passes.push(harness('nfctRead', 'libnetfilter_conntrack parse + read (C)',
      'as above plus nfct_get_attr*() of l3/l4 proto, both tuples\' addresses and ports, both directions\' counters, mark, status, id',
      c.path, [file, 'read'], (f) => {
        const x = parseC(f);
        if (f[4] !== corpus.srcSum) { x.bad = true; x.sum = f[4]; x.want = corpus.srcSum; }
        return x;
      }));
  } else {
    missing.push(c ? c.error : 'nfct_decode: not built');
  }
  const g = anchors.ctgo;
  if (g && g.path) {
    passes.push(harness('goNetlink', 'vishvananda/netlink (Go)',
      'bench/anchors/go/main.go: syscall.ParseNetlinkMessage per datagram, the package\'s parseRawData (what ConntrackTableList runs) per message',
      g.path, ['decode', file], (f) => ({ n: f[0], ms: f[1] * 1e3, cpuMs: f[5] * 1e3, allocs: f[2], allocBytes: f[3], sum: f[4], want: corpus.srcSum, bad: f[4] !== corpus.srcSum })));
  } else {
    missing.push(g ? g.error : 'ctgo: not built');
  }
  return [passes, missing];
}

module.exports = { makeAnchorPasses };
