// Compares our listing with conntrack's for the same table, allowing only
// the fields that change between two reads of a live table to differ.
// Each field that may drift: how to find it, and the allowed (ours - oracle)
// range in seconds: the oracle runs after us, up to several seconds later on
// a loaded machine.
const DRIFT: { re: RegExp; min: number; max: number }[] = [
  { re: /^((?:ipv[46]\s+\d+\s+)?\S+\s+\d+ )(\d+)( )/, min: 0, max: 10 }, // timeout column
  { re: /(<timeout>)(\d+)(<\/timeout>)/, min: 0, max: 10 },
  { re: /^()(\d+)( proto=)/, min: 0, max: 10 }, // an expectation line starts with its timeout
  { re: /( delta-time=)(\d+)( )/, min: -10, max: 0 },
  { re: /(<deltatime>)(\d+)(<\/deltatime>)/, min: -10, max: 0 },
  { re: /( use=)(\d+)( |$)/, min: -1, max: 1 },
  { re: /(<use>)(\d+)(<\/use>)/, min: -1, max: 1 },
];

/** Compare dump lines field by field; only the DRIFT fields may differ, within range. */
export function expectSameDump(ours: string, theirs: string): void {
  const a = ours.split('\n');
  const b = theirs.split('\n');
  expect(a).toHaveLength(b.length);
  for (let i = 0; i < a.length; i++) {
    let x = a[i];
    let y = b[i];
    for (const d of DRIFT) {
      const mx = d.re.exec(x);
      const my = d.re.exec(y);
      expect(!!mx).toBe(!!my);
      if (!mx || !my) continue;
      const diff = Number(mx[2]) - Number(my[2]);
      expect(diff).toBeGreaterThanOrEqual(d.min);
      expect(diff).toBeLessThanOrEqual(d.max);
      x = x.replace(d.re, '$1#$3');
      y = y.replace(d.re, '$1#$3');
    }
    expect(x).toBe(y);
  }
}

