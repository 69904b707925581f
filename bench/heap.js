'use strict';
// Heap growth and allocation of one pass (needs node --expose-gc).

const v8 = require('v8');
const { PerformanceObserver } = require('perf_hooks');
const { median } = require('./stats');

// --- GC counting (PerformanceObserver entries arrive asynchronously) -----------
let gcCount = 0;
const gcObserver = new PerformanceObserver((list) => { gcCount += list.getEntries().length; });
gcObserver.observe({ entryTypes: ['gc'] });
const flush = () => new Promise((resolve) => setTimeout(resolve, 20));

const newSpaceUsed = () => v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space').space_used_size;

/** One measured call of fn after a forced GC and a pause (so concurrent sweeping is done). */
async function measureOnce(fn) {
  global.gc();
  await flush();
  const gcBefore = gcCount;
  const young0 = newSpaceUsed();
  const heap0 = process.memoryUsage().heapUsed;
  fn();
  const heap1 = process.memoryUsage().heapUsed;
  const young1 = newSpaceUsed();
  await flush();
  return { heap: heap1 - heap0, young: young1 - young0, gcs: gcCount - gcBefore };
}

/**
 * Heap growth of one pass: heapUsed after minus before (forced GC first), net
 * of what the measurement itself allocates (the same measured around an empty
 * function). Also: the GCs V8 ran during the pass and, when there were none,
 * the bytes allocated in the young generation during the pass (exact: every
 * JS allocation lands there first). Median of `trials` runs.
 */
async function heapPass(pass, trials) {
  const heap = [], young = [], gcs = [];
  for (let t = 0; t < trials; t++) {
    const empty = await measureOnce(() => 0);
    const m = await measureOnce(() => pass.run());
    heap.push(m.heap - empty.heap);
    young.push(m.gcs === 0 ? m.young - empty.young : NaN);
    gcs.push(m.gcs);
  }
  const y = young.filter((x) => !Number.isNaN(x));
  return { growth: median(heap), gcs: median(gcs), allocated: y.length === trials ? median(y) : null };
}

/** Stop counting GCs (lets the process exit). */
function stopGcCounting() {
  gcObserver.disconnect();
}

module.exports = { measureOnce, heapPass, stopGcCounting };
