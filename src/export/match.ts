// Filters on event objects: the FilterBuilder's WASM program run over the
// flow re-encoded as a ctnetlink message (events arrive as objects; dumps
// are filtered while decoded, see Conntrack.dumpRecords).
import { Decoder } from '../decoder';
import { CT_NEW, encodeRequest } from '../encode';
import type { FilterBuilder } from '../filter';
import * as L from '../generated/layout';
import type { Flow } from '../types';

export function flowMatcher(filter: FilterBuilder | undefined, family?: 'ipv4' | 'ipv6'): (f: Flow) => boolean {
  const fam = family === 'ipv4' ? 2 : family === 'ipv6' ? 10 : 0;
  if (!filter) return (f) => fam === 0 || f.family === fam;
  const d = new Decoder();
  d.setFilter(filter.compile());
  return (f) => {
    if (fam !== 0 && f.family !== fam) return false;
    const msg = encodeRequest(d.core, { type: CT_NEW, flags: 0, seq: 0, family: f.family }, { kind: 'flow', flow: f });
    d.reset();
    d.expect(undefined, undefined);
    d.push(msg);
    let found = false;
    for (let n = d.decodeNext(); n > 0; n = d.decodeNext()) {
      for (let i = 0; i < n; i++) if (d.record(i).kind === L.KIND_FLOW) found = true;
    }
    return found;
  };
}
