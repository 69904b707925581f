#!/usr/bin/env node
// Replay a capture of netlink traffic and print each flow: what you would do
// in your own tests to drive code with recorded conntrack events.
//   node examples/replay-capture.js [file.pcap]
'use strict';
const path = require('path');
const { replay } = require('..');

async function main() {
  const file = process.argv[2] ?? path.join(__dirname, '..', 'fixtures', 'demo.pcap');
  let flows = 0;
  for await (const { message, tsSec } of replay(file)) {
    if (message.kind !== 'flow') continue;
    flows++;
    const o = message.orig;
    console.log(`${tsSec} ${o.src} -> ${o.dst} proto ${o.protoNum} bytes ${message.countersOrig?.bytes ?? 0n}`);
  }
  console.log(`${flows} flows`);
}

main().catch((e) => {
  console.error(e.code ? `${e.code}: ${e.message}` : e);
  process.exit(1);
});
