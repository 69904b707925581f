#!/usr/bin/env node
// List the conntrack table (of a network namespace, if one is named) with
// the streaming dump, and print totals per protocol. Needs root.
//   node examples/list-table.js [netns]
'use strict';
const { Conntrack, format } = require('..');

async function main() {
  const ct = await Conntrack.open({ netns: process.argv[2] });
  try {
    const perProto = new Map();
    for await (const flow of ct.dump()) {
      const name = format.protoName(flow.orig?.protoNum ?? 0);
      perProto.set(name, (perProto.get(name) ?? 0) + 1);
    }
    for (const [name, n] of [...perProto].sort()) console.log(`${name} ${n}`);
    const { entries, maxEntries } = await ct.count();
    console.log(`total ${entries} of ${maxEntries}`);
  } finally {
    ct.close();
  }
}

main().catch((e) => {
  console.error(e.code ? `${e.code}: ${e.message}` : e);
  process.exit(1);
});
