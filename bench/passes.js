'use strict';
// The timed passes: each decodes every datagram of the corpus once.

// A pass returns the number of flow messages and leaves the sum of their CTA_ID
// values (mod 2^32) in `result[0]`, so no decoder's work can be skipped and
// every pass can be checked against the corpus. No allocation in the harness.
const result = new Float64Array(1);

function makePasses(datagrams) {
  const { Decoder } = require('../dist/decoder');
  const { toMessage } = require('../dist/materialize');
  const L = require('../dist/generated/layout');
  const { LeanDecoder, S, KIND_FLOW } = require('./baselines/lean');
  const naive = require('./baselines/naive');
  const N = datagrams.length;

  const wasm = new Decoder();
  // The filter pass: five conditions every message must pass, so all five are
  // evaluated for every flow (AND stops at the first false one) and the pass
  // keeps every record: the worst case of the filter's per-message cost.
  const { FilterBuilder } = require('../dist/filter');
  const filtered = new Decoder();
  filtered.setFilter(new FilterBuilder()
    .not((b) => b.proto(200))
    .not((b) => b.mark(0xdeadbeef))
    .not((b) => b.src('203.0.113.0/24'))
    .not((b) => b.dport(9, 'reply'))
    .not((b) => b.status({ has: ['DYING', 'TEMPLATE'] }))
    .compile());
  const lean = new LeanDecoder();
  const rec = lean.rec;

  // Fill the arena with as many datagrams as fit, starting at i; returns the next i.
  function fill(i) {
    wasm.reset();
    while (i < N && wasm.push(datagrams[i])) i++;
    return i;
  }

  return [
    {
      name: 'WASM records',
      key: 'wasmRecords',
      what: 'push datagrams into the arena, decodeNext(), read kind + CTA_ID of each record via RecordView',
      run() {
        let n = 0, sum = 0;
        for (let i = 0; i < N;) {
          i = fill(i);
          for (let k = wasm.decodeNext(); k > 0; k = wasm.decodeNext()) {
            for (let j = 0; j < k; j++) {
              const r = wasm.record(j);
              if (r.kind === L.KIND_FLOW) {
                n++;
                sum = (sum + r.u32(L.REC_ID)) >>> 0;
              }
            }
          }
        }
        result[0] = sum;
        return n;
      },
    },
    {
      name: 'WASM records + 5-condition filter',
      key: 'wasmFiltered',
      what: 'as "WASM records", with a 5-condition filter program (negated proto, mark, src net, reply dport, status) that every flow passes',
      run() {
        let n = 0, sum = 0;
        for (let i = 0; i < N;) {
          filtered.reset();
          while (i < N && filtered.push(datagrams[i])) i++;
          for (let k = filtered.decodeNext(); k > 0; k = filtered.decodeNext()) {
            for (let j = 0; j < k; j++) {
              const r = filtered.record(j);
              if (r.kind === L.KIND_FLOW) {
                n++;
                sum = (sum + r.u32(L.REC_ID)) >>> 0;
              }
            }
          }
        }
        result[0] = sum;
        return n;
      },
    },
    {
      name: 'WASM + materialize',
      key: 'wasmObjects',
      what: 'as above, plus toMessage(record) -> plain object (string addresses, bigint counters)',
      run() {
        let n = 0, sum = 0;
        for (let i = 0; i < N;) {
          i = fill(i);
          for (let k = wasm.decodeNext(); k > 0; k = wasm.decodeNext()) {
            for (let j = 0; j < k; j++) {
              const m = toMessage(wasm.record(j));
              if (m.kind === 'flow') {
                n++;
                sum = (sum + m.id) >>> 0;
              }
            }
          }
        }
        result[0] = sum;
        return n;
      },
    },
    {
      name: 'naive JS',
      key: 'naive',
      what: 'bench/baselines/naive.js: DataView walk, one object per message, strings + bigint',
      run() {
        let n = 0, sum = 0;
        for (let i = 0; i < N; i++) {
          const msgs = naive.decodeDatagram(datagrams[i]);
          for (let j = 0; j < msgs.length; j++) {
            const m = msgs[j];
            if (m.kind === 'flow') {
              n++;
              sum = (sum + m.id) >>> 0;
            }
          }
        }
        result[0] = sum;
        return n;
      },
    },
    {
      name: 'lean JS',
      key: 'lean',
      what: 'bench/baselines/lean.js: numbers/offsets into one reused Uint32Array, bounds-checked',
      run() {
        let n = 0, sum = 0;
        for (let i = 0; i < N; i++) {
          lean.begin(datagrams[i]);
          for (let kind = lean.next(); kind !== 0; kind = lean.next()) {
            if (kind === KIND_FLOW) {
              n++;
              sum = (sum + rec[S.ID]) >>> 0;
            }
          }
        }
        result[0] = sum;
        return n;
      },
    },
    {
      name: '(WASM push only)',
      key: 'pushOnly',
      info: true, // not a decoder: the arena copy that row 1 includes
      what: 'reset() + push() of every datagram, no decoding: the copy cost included in "WASM records"',
      run() {
        let n = 0;
        for (let i = 0; i < N;) {
          const j = fill(i);
          n += j - i;
          i = j;
        }
        result[0] = 0;
        return n;
      },
    },
  ];
}

module.exports = { makePasses, result };
