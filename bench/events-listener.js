#!/usr/bin/env node
'use strict';
// The API listener of bench/events.js: ct.events() with DEFAULT options in a
// namespace, counting conntrack events. Mode 'batch' reads them through the
// reused record view (no object per event); mode 'objects' takes one plain
// object per event ('event' listener). Prints "ready" once listening; on
// SIGINT prints {"received":N,"overflows":M,"datagrams":D} and exits.
// Modes 'filter-bpf' / 'filter-wasm': 'batch' with a filter (orig src in
// 10.0.0.0/24: 256 of the generator's entries) with and without the kernel BPF.
//   node bench/events-listener.js NS [batch|objects|filter-bpf|filter-wasm]
const path = require('path');
const DIST = path.join(__dirname, '..', 'dist');
const { Conntrack } = require(path.join(DIST, 'conntrack.js'));
const L = require(path.join(DIST, 'generated', 'layout.js'));
const { FilterBuilder } = require(path.join(DIST, 'filter.js'));

(async () => {
  const [ns, mode = 'batch'] = process.argv.slice(2);
  const ct = await Conntrack.open({ netns: ns });
  const filtered = mode.startsWith('filter-');
  const stream = ct.events(filtered ? { filter: new FilterBuilder().src('10.0.0.0/24'), bpf: mode === 'filter-bpf' } : {});
  let received = 0;
  if (mode === 'objects') {
    stream.on('event', () => received++);
  } else {
    stream.on('batch', (b) => {
      for (let i = 0; i < b.size; i++) {
        const r = b.record(i);
        if (r.kind === L.KIND_FLOW && r.event !== L.EVENT_NONE) received++;
      }
    });
  }
  process.on('SIGINT', () => {
    const c = stream.counters();
    stream.close();
    ct.close();
    process.stdout.write(JSON.stringify({ received, overflows: stream.overflows, datagrams: c.datagrams, bytes: c.bytes }) + '\n');
    process.exit(0);
  });
  process.stdout.write('ready\n');
})().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
