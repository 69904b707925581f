#!/usr/bin/env node
'use strict';
// Churn generator for the reliability tests and the soak: in namespace NS,
// create COUNT entries (bench/fill.js numbering from BASE: batched
// IPCTNL_MSG_CT_NEW, 128 per datagram) and delete them again
// (deleteMatching on their source /16), over and over until SIGTERM. One
// line per cycle on stdout: "cycle <n> created <c> deleted <d>".
//
//   node test/helpers/churn.js NS BASE COUNT SRC_CIDR
const path = require('path');
const { fill } = require(path.join(__dirname, '..', '..', 'bench', 'fill.js'));
const { Conntrack, FilterBuilder } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const [ns, base, count, cidr] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
if (!ns || !Number.isInteger(base) || !Number.isInteger(count) || !cidr) {
  process.stderr.write('usage: churn.js NS BASE COUNT SRC_CIDR\n');
  process.exit(2);
}

let stop = false;
process.on('SIGTERM', () => { stop = true; });

(async () => {
  const ct = await Conntrack.open({ netns: ns, timeout: 30000 });
  const filter = new FilterBuilder().src(cidr);
  for (let cycle = 1; !stop; cycle++) {
    const r = await fill(ns, base, base + count);
    if (r.errors > 0) throw r.firstError;
    const deleted = await ct.deleteMatching(filter);
    process.stdout.write(`cycle ${cycle} created ${count} deleted ${deleted}\n`);
  }
  ct.close();
})().catch((e) => {
  process.stderr.write(`churn: ${e && e.stack}\n`);
  process.exit(1);
});
