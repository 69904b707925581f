// ctrack top as a person uses it: on a tmux screen, in a private namespace
// with real traffic (a busy and a quiet TCP flow) and entries made with
// conntrack -I; keys are sent and the screen is read. Also the not-a-TTY
// snapshot, the npm start fallback without privilege, and progress on a
// terminal vs a pipe.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Netns, tool } from './helpers/netns';
import { TmuxScreen } from './helpers/tmux';

jest.setTimeout(120000);

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'ctrack.js');

// Two TCP flows over loopback: one sends 50 KB every 100 ms, one a byte every 500 ms.
const TRAFFIC = `
const net = require('net');
for (const port of [7001, 7002]) net.createServer((s) => { s.on('data', () => {}); s.on('error', () => {}); }).listen(port, '127.0.0.1');
setTimeout(() => {
  const busy = net.connect(7001, '127.0.0.1'); busy.on('error', () => {});
  setInterval(() => busy.write(Buffer.alloc(50000)), 100);
  const quiet = net.connect(7002, '127.0.0.1'); quiet.on('error', () => {});
  setInterval(() => quiet.write('x'), 500);
}, 200);
setTimeout(() => process.exit(0), 300000);
`;

let ns: Netns;
let traffic: ChildProcess | undefined;
let top: TmuxScreen | undefined;

beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error('dist/ is missing: run npm run build');
  tool('tmux');
  tool('script');
  ns = Netns.create();
  ns.conntrack('-I', '-p', 'udp', '-s', '10.9.0.1', '-d', '10.9.0.2', '--sport', '1234', '--dport', '5353', '-t', '600');
  ns.conntrack('-I', '-p', 'udp', '-s', '10.9.0.3', '-d', '10.9.0.4', '--sport', '1111', '--dport', '53', '-t', '600');
  traffic = spawn(tool('ip'), ['netns', 'exec', ns.name, process.execPath, '-e', TRAFFIC], { stdio: 'ignore' });
});

afterAll(() => {
  top?.kill();
  traffic?.kill();
  ns?.destroy();
});

/** Screen row (line index) showing `text`, -1 if none. */
function row(screen: string, text: string): number {
  return screen.split('\n').findIndex((l) => l.includes(text));
}

/** "472K/s" -> 472000; "-" -> NaN. */
function rateOf(line: string): number {
  const m = /(\d+(?:\.\d+)?)([KMGTP]?)\/s\s*$/.exec(line);
  if (!m) return NaN;
  return Number(m[1]) * 1000 ** (' KMGTP'.indexOf(m[2] || ' '));
}

function line(screen: string, text: string): string {
  return screen.split('\n').find((l) => l.includes(text)) ?? '';
}

describe('ctrack top on a tmux screen', () => {
  beforeAll(() => {
    top = TmuxScreen.start([process.execPath, CLI, 'top', '--netns', ns.name], 160, 30);
  });

  test('shows the header and one row per flow', async () => {
    const s = await top!.waitFor((x) => x.includes(':7001') && x.includes(':7002') && x.includes('10.9.0.1:1234') && x.includes('10.9.0.3:1111'), 'all four flows');
    expect(s).toContain(`ctrack top - netns ${ns.name}`);
    expect(s).toMatch(/4 entries \(max \d+\)/);
    expect(s).toMatch(/tcp 2 {2}udp 2/);
    expect(line(s, ':7001')).toMatch(/^tcp +127\.0\.0\.1:\d+ +-> 127\.0\.0\.1:7001 +ESTABLISHED/);
    expect(line(s, '10.9.0.1:1234')).toMatch(/^udp +10\.9\.0\.1:1234 +-> 10\.9\.0\.2:5353 /);
  });

  test('rates move while traffic flows; the busy flow leads by bytes', async () => {
    const s = await top!.waitFor((x) => rateOf(line(x, ':7001')) > 10000, 'a rate above 10K/s on the busy flow');
    expect(row(s, ':7001')).toBeLessThan(row(s, ':7002'));
    const bytes = (x: string): string => line(x, ':7001').trim().split(/\s+/)[7]; // TX BYTES
    const before = bytes(s);
    await top!.waitFor((x) => bytes(x) !== before, 'TX BYTES of the busy flow to change');
    // the -I entries see no packets: no rate above zero
    expect(rateOf(line(s, '10.9.0.1:1234'))).toBe(0);
  });

  test('S reverses the order, s goes to the next sort key', async () => {
    top!.keys('S');
    let s = await top!.waitFor((x) => x.includes('sort: bytes ascending'), 'ascending order');
    s = await top!.waitFor((x) => row(x, ':7001') > row(x, ':7002') && row(x, ':7002') > 0, 'the busy flow below the quiet one');
    expect(row(s, ':7001')).toBeGreaterThan(row(s, '10.9.0.1:1234'));
    top!.keys('s');
    s = await top!.waitFor((x) => x.includes('sort: packets descending'), 'sort by packets');
    s = await top!.waitFor((x) => row(x, ':7001') < row(x, ':7002') && row(x, ':7001') > 0, 'the busy flow first by packets');
    expect(row(s, ':7002')).toBeLessThan(row(s, '10.9.0.1:1234'));
    for (const key of ['rate', 'age', 'state', 'bytes']) {
      top!.keys('s');
      await top!.waitFor((x) => new RegExp(`sort: ${key} `).test(x), `sort by ${key}`);
    }
  });

  test('/ filters with the flags of ctrack -L; a bad filter keeps the old one', async () => {
    top!.keys('/');
    await top!.waitFor((x) => x.includes('filter (flags of ctrack -L'), 'the filter prompt');
    top!.text('-p udp');
    top!.keys('Enter');
    let s = await top!.waitFor((x) => x.includes('filter: -p udp') && x.includes('10.9.0.1:1234'), 'the UDP rows under the new filter');
    expect(s).toContain('10.9.0.3:1111');
    expect(s).not.toContain(':7001');
    expect(s).toMatch(/shown 2/);
    top!.keys('/');
    top!.text(' --dport abc');
    top!.keys('Enter');
    s = await top!.waitFor((x) => x.includes('filter not changed'), 'the error message');
    expect(s).toContain("--dport: 'abc' is not a number");
    expect(s).toContain('filter: -p udp');
  });

  test('d asks before deleting; n keeps the flow, y deletes it in the kernel', async () => {
    top!.keys('/', 'C-u');
    top!.text('-p udp --dport 5353');
    top!.keys('Enter');
    await top!.waitFor((x) => x.includes('filter: -p udp --dport 5353') && !x.includes('10.9.0.3:1111') && /^udp .*10\.9\.0\.1:1234/m.test(x), 'one UDP row');
    top!.keys('d');
    await top!.waitFor((x) => /delete udp 10\.9\.0\.1:1234 -> 10\.9\.0\.2:5353 \(id \d+\)\? \(y\/n\)/.test(x), 'the confirmation');
    top!.keys('n');
    await top!.waitFor((x) => x.includes('nothing deleted'), 'no deletion');
    expect(ns.conntrack('-L', '-p', 'udp', '--dport', '5353')).toContain('sport=1234');
    top!.keys('d');
    await top!.waitFor((x) => x.includes('(y/n)'), 'the confirmation');
    top!.keys('y');
    await top!.waitFor((x) => x.includes('deleted udp 10.9.0.1:1234') && !/^udp .*10\.9\.0\.1:1234/m.test(x), 'the flow gone from the screen');
    expect(ns.conntrack('-L', '-p', 'udp', '--dport', '5353')).toBe('');
    expect(ns.conntrack('-L', '-p', 'udp', '--dport', '53')).toContain('sport=1111');
  });

  test('p pauses and resumes, q quits with exit code 0', async () => {
    top!.keys('p');
    await top!.waitFor((x) => x.includes('PAUSED'), 'the paused header');
    top!.keys('p');
    await top!.waitFor((x) => !x.includes('PAUSED'), 'the running header');
    top!.keys('q');
    await top!.waitFor((x) => x.includes('EXITED rc=0'), 'the program to end');
  });
});

test('stdout not a terminal: one snapshot, exit 0', () => {
  const r = spawnSync(process.execPath, [CLI, 'top', '--netns', ns.name, '-p', 'tcp'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`ctrack top - netns ${ns.name}`);
  expect(r.stdout).toContain('filter: -p tcp');
  expect(r.stdout).toMatch(/^tcp +127\.0\.0\.1:\d+ +-> 127\.0\.0\.1:7001 /m);
  expect(r.stdout).not.toContain('10.9.0.3');
  expect(r.stdout).not.toContain('\x1b');
});

test('npm start without privilege: one line saying so, then the view over the bundled capture', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [node, ...args] = pkg.scripts.start.split(/\s+/);
  expect(node).toBe('node');
  const r = spawnSync(tool('ip'), ['netns', 'exec', ns.name, tool('setpriv'), '--reuid=nobody', '--regid=nogroup', '--clear-groups',
    process.execPath, ...args], { encoding: 'utf8', cwd: ROOT });
  expect(r.stderr.trim().split('\n')).toEqual([
    "ctrack top: cannot show this host's conntrack table: reading it needs root (CAP_NET_ADMIN); showing the bundled capture fixtures/top-demo.pcap instead",
  ]);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('ctrack top - replay of fixtures/top-demo.pcap');
  expect(r.stdout).toMatch(/^tcp +127\.0\.0\.1:\d+ +-> 127\.0\.0\.1:443 +ESTABLISHED/m);
});

describe('progress on stderr', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctrack-progress-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Runs the CLI with stderr on a pseudo-terminal (script) and stdout to a file. */
  function onTerminal(args: string[]): { terminal: string; stdout: string } {
    const out = path.join(tmp, `out-${args[0]}`);
    const cmd = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ') + ` > '${out}'`;
    const r = spawnSync(tool('script'), ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    return { terminal: r.stdout, stdout: fs.readFileSync(out, 'utf8') };
  }

  beforeAll(() => {
    for (let i = 0; i < 40; i++) ns.conntrack('-I', '-p', 'udp', '-s', `10.20.0.${i + 1}`, '-d', '10.21.0.1', '--sport', '9', '--dport', '9', '-t', '600');
  });

  test('piped: no progress text at all', () => {
    for (const cmd of ['-L', '-C']) {
      const r = spawnSync(process.execPath, [CLI, cmd, '--netns', ns.name], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stderr).not.toMatch(/dumping|\r|\x1b/);
    }
  });

  test.each([
    ['-L', ['-L', '--netns', 'NS', '-s', '10.20.0.0/16'], '-L: dumping', 'shown'],
    ['-D', ['-D', '--netns', 'NS', '-s', '10.20.0.0/16'], '-D: deleting', 'deleted'],
  ])('%s with stderr on a terminal shows progress and erases it before the summary', (_name, argv, label, verb) => {
    const args = (argv as string[]).map((a) => (a === 'NS' ? ns.name : a));
    const t = onTerminal(args);
    expect(t.terminal).toContain(`${label}: `);
    expect(t.terminal).toContain(`\r\x1b[Kconntrack v1.4.7 (conntrack-tools): 40 flow entries have been ${verb}.`);
    expect(t.stdout).not.toContain('\x1b');
    expect(t.stdout.trim().split('\n')).toHaveLength(40);
  });

  test('-E --write with stderr on a terminal counts the recorded datagrams', async () => {
    const cap = path.join(tmp, 'events.pcap');
    const out = path.join(tmp, 'out-events');
    // stopped by SIGINT after the events below, as a person would stop it
    const cmd = `timeout -s INT 6 '${process.execPath}' '${CLI}' -E --netns '${ns.name}' -s 10.22.0.0/16 --write '${cap}' > '${out}'`;
    const child = spawn(tool('script'), ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let terminal = '';
    child.stdout.on('data', (b) => (terminal += b));
    // the first progress line says it listens
    for (let i = 0; i < 200 && !terminal.includes('-E: recording'); i++) await new Promise((r) => setTimeout(r, 25));
    for (let i = 1; i <= 5; i++) {
      // spaced past the 10 Hz redraw limit, so the last count is drawn
      await new Promise((r) => setTimeout(r, 150));
      ns.conntrack('-I', '-p', 'udp', '-s', `10.22.0.${i}`, '-d', '10.21.0.1', '--sport', '9', '--dport', '9', '-t', '600');
    }
    await new Promise((r) => child.on('close', r));
    expect(terminal).toContain(`-E: recording to ${cap}: 5 datagrams`);
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(5);
    expect(fs.readFileSync(out, 'utf8')).not.toContain('\x1b');
  });
});
