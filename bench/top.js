#!/usr/bin/env node
'use strict';
// How `ctrack top` copes with a big table: a namespace filled with N entries
// (bench/fill.js), then the work of one refresh measured in parts: the dump
// into the FlowTable (typed arrays keyed by conntrack id), the top-50
// selection for the screen (bounded heap), the row text, and the heap/RSS
// it costs. Each part runs REPS times; medians are printed.
//
//   node bench/top.js [N] [REPS]     default N = 1000000, REPS = 5
const path = require('path');
const { createNs, cleanupAll, fill, count } = require('./fill.js');

const DIST = path.join(__dirname, '..', 'dist');
const { FlowTable } = require(path.join(DIST, 'cli', 'top', 'table.js'));
const { LiveSource } = require(path.join(DIST, 'cli', 'top', 'source.js'));
const { Conntrack } = require(path.join(DIST, 'conntrack.js'));
const { rowText } = require(path.join(DIST, 'cli', 'top', 'render.js'));

const N = Number(process.argv[2] ?? 1000000);
const REPS = Number(process.argv[3] ?? 5);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function main() {
  const { name } = createNs(Math.max(2000000, N * 2));
  await fill(name, 0, N);
  const have = await count(name);
  const src = await LiveSource.open(name);
  const table = new FlowTable();
  const plain = await Conntrack.open({ netns: name, bufferSize: 16 << 20 });
  const times = { dump: [], refresh: [], top: [], rows: [] };
  let dumped = 0;
  for (let i = 0; i < REPS; i++) {
    // the same dump with nothing done per entry: what the kernel and decoder cost alone
    let t0 = process.hrtime.bigint();
    dumped = await plain.dumpRecords({}, () => undefined);
    times.dump.push(ms(t0));
    t0 = process.hrtime.bigint();
    await src.refresh(table, Date.now() / 1000);
    times.refresh.push(ms(t0));
    t0 = process.hrtime.bigint();
    const slots = table.top(i % 2 === 0 ? 'bytes' : 'age', false, 50);
    times.top.push(ms(t0));
    t0 = process.hrtime.bigint();
    for (const s of slots) rowText(table, s, 160);
    times.rows.push(ms(t0));
  }
  src.close();
  plain.close();
  const mem = process.memoryUsage();
  const out = [
    `ctrack top at ${have} entries (${REPS} refreshes, medians):`,
    `  plain dump, nothing per entry:             ${median(times.dump).toFixed(0)} ms`,
    `  refresh (dump + FlowTable upsert + count): ${median(times.refresh).toFixed(0)} ms`,
    `  top 50 (bounded heap over all flows):      ${median(times.top).toFixed(1)} ms`,
    `  50 row texts:                              ${median(times.rows).toFixed(2)} ms`,
    `  flows in the table: ${table.size} (the plain dump returned ${dumped}); heap ${(mem.heapUsed / 1e6).toFixed(0)} MB, array buffers ${(mem.arrayBuffers / 1e6).toFixed(0)} MB, RSS ${(mem.rss / 1e6).toFixed(0)} MB`,
  ];
  process.stdout.write(out.join('\n') + '\n');
}

main().then(() => cleanupAll(), (e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  cleanupAll();
  process.exitCode = 1;
});
