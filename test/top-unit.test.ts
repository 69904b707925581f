// ctrack top without a terminal or a kernel: key decoding, its command
// line, per-command --help, the progress line, and the flow table fed from
// captures (compared with the same capture materialized by replayAll).
import * as path from 'path';
import { parseKeys } from '../src/cli/top/keys';
import { parseTopArgs } from '../src/cli/top/options';
import { commandHelp } from '../src/cli/help';
import { parseArgs } from '../src/cli/args';
import { Progress } from '../src/cli/progress';
import { FlowTable } from '../src/cli/top/table';
import { ReplaySource } from '../src/cli/top/source';
import { human, ageText, rowText } from '../src/cli/top/render';
import { replayAll } from '../src/replay';
import { UsageError } from '../src/cli/usage';
import { ctrack } from './helpers/cli';
import type { Flow } from '../src/types';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

describe('parseKeys', () => {
  test.each([
    ['q', [{ name: 'char', ch: 'q' }]],
    ['\x1b[A\x1b[B', [{ name: 'up' }, { name: 'down' }]],
    ['\x1bOA', [{ name: 'up' }]],
    ['\x1b[5~\x1b[6~', [{ name: 'pageup' }, { name: 'pagedown' }]],
    ['\x1b', [{ name: 'escape' }]],
    ['\r', [{ name: 'enter' }]],
    ['\x7f', [{ name: 'backspace' }]],
    ['\x03', [{ name: 'ctrl-c' }]],
    ['\x15', [{ name: 'ctrl-u' }]],
    ['\x1b[1;5C', []], // an unknown sequence is skipped whole, not read as keys
    ['-p', [{ name: 'char', ch: '-' }, { name: 'char', ch: 'p' }]],
  ])('%j', (input, keys) => {
    expect(parseKeys(input)).toEqual(keys);
  });
});

describe('ctrack top command line', () => {
  test.each([
    [[], { interval: 1, rows: 50 }],
    [['--interval', '2.5'], { interval: 2.5 }],
    [['--interval=0.5', '--rows', '10'], { interval: 0.5, rows: 10 }],
    [['--fallback-replay', 'x.pcap'], { fallbackReplay: 'x.pcap' }],
  ])('%j', (argv, want) => {
    expect(parseTopArgs(argv)).toMatchObject(want);
  });

  test('filter flags go through the -L parser', () => {
    const o = parseTopArgs(['-p', 'tcp', '--dport', '443', '-f', 'ipv4', '--netns', 'blue']);
    expect(o.cli).toMatchObject({ family: 'ipv4', netns: 'blue', entry: { proto: 'tcp', dport: '443' } });
  });

  test.each([
    [['--interval', '0'], /--interval: '0' is not a number of 0.1 .. 3600/],
    [['--interval', 'soon'], /--interval: 'soon'/],
    [['--interval'], /argument missing/],
    [['--rows', '-1'], /--rows/],
    [['--bogus'], /unknown option '--bogus'/],
    [['-p', 'nope'], /-p: 'nope' is not a number/],
    [['-o', 'xml'], /-o is not used by top/],
    [['-L'], /-L is a command/],
    [['-f', 'ipv5'], /unknown family 'ipv5'/],
  ])('%j is a usage error', (argv, msg) => {
    expect(() => parseTopArgs(argv)).toThrow(UsageError);
    expect(() => parseTopArgs(argv)).toThrow(msg);
  });

  test.each([
    [['top', '--bogus'], 2],
    [['top', '--interval', 'x'], 2],
    [['top', '--help'], 0],
    [['top', '-h'], 0],
  ])('ctrack %j exits %i', async (argv, code) => {
    // top writes its help to process.stdout; silence it here
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const r = await ctrack(...argv);
      expect(r.code).toBe(code);
      if (code === 0) expect(String(write.mock.calls[0][0])).toContain('Usage: ctrack top');
    } finally {
      write.mockRestore();
      err.mockRestore();
    }
  });
});

describe('--help for every command', () => {
  test.each([
    ['-L', 'Usage: ctrack -L'], ['--dump', 'Usage: ctrack -L'], ['-D', 'Usage: ctrack -D'], ['-E', 'Usage: ctrack -E'],
    ['-G', 'Usage: ctrack -G'], ['-I', 'Usage: ctrack -I'], ['-U', 'Usage: ctrack -U'], ['-F', 'Usage: ctrack -F'],
    ['-S', 'Usage: ctrack -S'], ['-C', 'Usage: ctrack -C'],
  ])('ctrack %s --help', async (flag, head) => {
    const r = await ctrack(flag, '--help');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.startsWith(head)).toBe(true);
    expect(r.stdout).toContain('Examples:');
    // every example is a command line this parser accepts (kernel access aside)
    for (const ex of r.stdout.split('\n').filter((l) => /^ {2}ctrack /.test(l))) {
      const argv = ex.trim().split(/ {2,}/)[0].split(/\s+/).slice(1).filter((a) => a !== '>' && !a.endsWith('.txt'));
      expect(() => parseArgs(argv)).not.toThrow();
    }
  });

  test('without a command, -h prints the full reference', async () => {
    expect(commandHelp(['-h'])).toBeUndefined();
    expect(commandHelp(['-L'])).toBeUndefined();
  });
});

describe('Progress', () => {
  function fakeStream(isTTY: boolean): { isTTY: boolean; text: string; write(s: string): void } {
    return { isTTY, text: '', write(s: string) { this.text += s; } };
  }

  test('draws nothing when stderr is not a terminal, or when stdout is one', () => {
    for (const [errTTY, outTTY] of [[false, false], [true, true]]) {
      const s = fakeStream(errTTY);
      const p = new Progress('-L: dumping', 'entries', s, outTTY);
      for (let i = 0; i < 1000; i++) p.add();
      p.done();
      expect(s.text).toBe('');
    }
  });

  test('on a terminal: draws at once, at most every 100 ms, and erases at the end', () => {
    let now = 1_000_000;
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const s = fakeStream(true);
      const p = new Progress('-D: deleting', 'entries', s, false);
      expect(s.text).toBe('\r\x1b[K-D: deleting: 0 entries (0.0 s)');
      for (let i = 0; i < 500; i++) p.add(); // same instant: no redraw
      expect(s.text.split('\r').length - 1).toBe(1);
      now += 100;
      p.add();
      expect(s.text.endsWith('\r\x1b[K-D: deleting: 501 entries (0.1 s)')).toBe(true);
      p.done();
      expect(s.text.endsWith('\r\x1b[K')).toBe(true);
      p.done(); // idempotent
      expect(s.text.split('\r').length - 1).toBe(3);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('FlowTable', () => {
  test('human and age texts', () => {
    expect([human(0), human(9999), human(12345), human(1_500_000), human(2e12)]).toEqual(['0', '9999', '12.3K', '1.5M', '2.0T']);
    expect([ageText(5), ageText(65), ageText(3700), ageText(90000)]).toEqual(['5s', '1m05s', '1h01m', '1d01h']);
  });

  test('the last dump of a capture, ordered by bytes, equals the materialized flows', async () => {
    const file = path.join(FIXTURES, 'top-demo.pcap');
    // expected: the flows of the capture's last dump, from replayAll
    // (the last dump, then the events after it: new flows without counters, destroyed ones gone)
    const items = await replayAll(file);
    const isDump = (i: (typeof items)[number]): boolean => i.message.kind === 'flow' && !(i.message as Flow).event;
    const lastDump = items.filter(isDump).at(-1)!;
    const at = (i: (typeof items)[number]): boolean => i.tsSec === lastDump.tsSec && i.tsUsec === lastDump.tsUsec;
    const flows = new Map<number, Flow>();
    for (const i of items.slice(items.findIndex(at))) {
      const f = i.message as Flow;
      if (f.kind !== 'flow') continue;
      if (f.event === 'destroy') flows.delete(f.id as number);
      else flows.set(f.id as number, f);
    }
    const bytes = (f: Flow): number => Number((f.countersOrig?.bytes ?? 0n) + (f.countersReply?.bytes ?? 0n));
    const want = [...flows.values()].sort((a, b) => bytes(b) - bytes(a) || (a.id as number) - (b.id as number));
    expect(want.length).toBeGreaterThan(10);

    const src = await ReplaySource.open(file);
    src.setFilter(undefined, undefined);
    const table = new FlowTable();
    // replay the whole capture at once: "now" far past its end
    const t0 = 1e9;
    await src.refresh(table, t0);
    await src.refresh(table, t0 + 3600);
    const slots = table.top('bytes', false, want.length + 10);
    expect(table.size).toBe(want.length);
    expect(slots.map((s) => table.ids[s])).toEqual(want.map((f) => f.id));
    expect(slots.map((s) => table.byteO[s] + table.byteR[s])).toEqual(want.map(bytes));
    // the busiest flow is the bulk upload to port 443
    expect(rowText(table, slots[0], 160)).toMatch(/^tcp +127\.0\.0\.1:\d+ +-> 127\.0\.0\.1:443 +ESTABLISHED/);
  });

  test('rates come from counter deltas between refreshes; sort keys and directions', async () => {
    const src = await ReplaySource.open(path.join(FIXTURES, 'top-demo.pcap'));
    src.setFilter(undefined, undefined);
    const table = new FlowTable();
    const t0 = 1e9;
    for (let t = 0; t <= 6; t += 1) await src.refresh(table, t0 + t);
    const byRate = table.top('rate', false, 3);
    expect(table.hasRate(byRate[0])).toBe(true);
    expect(table.rate[byRate[0]]).toBeGreaterThan(100000); // the ~300 KB/s upload
    const asc = table.top('bytes', true, table.size);
    const desc = table.top('bytes', false, table.size);
    const total = (s: number): number => table.byteO[s] + table.byteR[s];
    expect(asc.map(total)).toEqual([...desc].reverse().map(total));
    for (const key of ['bytes', 'packets', 'rate', 'age', 'state'] as const) {
      const order = table.top(key, false, table.size).map((s) => table.key(s, key));
      expect(order).toEqual([...order].sort((a, b) => b - a));
    }
  });

  test('a filter narrows the replayed table', async () => {
    const src = await ReplaySource.open(path.join(FIXTURES, 'top-demo.pcap'));
    const { parseTopArgs: parse } = await import('../src/cli/top/options');
    const o = parse(['-p', 'udp']);
    const { topFilter } = await import('../src/cli/top/options');
    src.setFilter(topFilter(o.cli), undefined);
    const table = new FlowTable();
    await src.refresh(table, 1e9);
    await src.refresh(table, 1e9 + 3600);
    expect(table.size).toBeGreaterThan(0);
    expect([...table.perProto.keys()]).toEqual([17]);
  });
});
