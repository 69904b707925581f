#!/usr/bin/env node
// Log connections that concern an overlay network, netbird style: one line
// per start and end, with the direction seen from the interface and the
// rx/tx counters (counters need nf_conntrack_acct; start(true) turns it on
// and stop() restores it). Needs root.
//   node examples/flow-logger.js [netns] [interface ip/len] [seconds]
'use strict';
const { ConnTrack } = require('..');

async function main() {
  const [netns, ifaceAddr = '100.64.0.1/16', seconds = '5'] = process.argv.slice(2);
  const flowLogger = {
    storeEvent(f) {
      const ports = f.sourcePort ? `:${f.sourcePort} -> ${f.destIp}:${f.destPort}` : ` -> ${f.destIp}`;
      console.log(`${f.type} ${f.direction} proto ${f.protocol} ${f.sourceIp}${ports} rx ${f.rxPackets}/${f.rxBytes} tx ${f.txPackets}/${f.txBytes} flow ${f.flowId}`);
    },
  };
  // the interface address is read for every batch of events, so it may change
  const iface = { address: () => ({ ip: ifaceAddr }) };
  const tracker = new ConnTrack(flowLogger, iface, { netns: netns || undefined, log: (level, msg) => level === 'warn' && console.error(msg) });
  await tracker.start(true);
  console.error(`listening for ${seconds} s`);
  setTimeout(() => tracker.stop(), Number(seconds) * 1000);
}

main().catch((e) => {
  console.error(e.code ? `${e.code}: ${e.message}` : e);
  process.exit(1);
});
