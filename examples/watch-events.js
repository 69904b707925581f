#!/usr/bin/env node
// Watch connections start and end for a few seconds, with overrun handling.
// Needs root.
//   node examples/watch-events.js [netns] [seconds]
'use strict';
const { Conntrack } = require('..');

async function main() {
  const ct = await Conntrack.open({ netns: process.argv[2] || undefined });
  const events = ct.events({ groups: ['new', 'destroy'], resync: true });
  events.on('event', (e) => {
    console.log(`${e.event} ${e.orig?.src}:${e.orig?.srcPort ?? ''} -> ${e.orig?.dst}:${e.orig?.dstPort ?? ''}`);
  });
  events.on('overflow', ({ total }) => console.error(`events were lost (${total} overruns); resyncing`));
  events.on('resync', (table) => console.error(`table has ${table.length} entries`));
  events.on('error', (e) => console.error(e.message));
  console.error('listening'); // the socket has joined the groups: nothing from now on is missed
  setTimeout(() => {
    events.close();
    ct.close();
  }, Number(process.argv[3] ?? 5) * 1000);
}

main().catch((e) => {
  console.error(e.code ? `${e.code}: ${e.message}` : e);
  process.exit(1);
});
