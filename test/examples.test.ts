// Every script in examples/ runs and prints what it promises. They use the
// built package (dist/), as a user's code would.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Netns } from './helpers/netns';

const ROOT = path.join(__dirname, '..');
const EX = path.join(ROOT, 'examples');

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run npm run build (npm install does)');
});

function run(script: string, ...args: string[]) {
  return spawnSync(process.execPath, [path.join(EX, script), ...args], { encoding: 'utf8', timeout: 30000 });
}

test('every example is covered here', () => {
  expect(fs.readdirSync(EX).sort()).toEqual(['flow-logger.js', 'list-table.js', 'replay-capture.js', 'watch-events.js']);
});

test('replay-capture.js prints the flows of the bundled capture', () => {
  const r = run('replay-capture.js');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/127\.0\.0\.1 -> 127\.0\.0\.1 proto 6 bytes 222/);
  expect(r.stdout.trim().split('\n').at(-1)).toBe('12 flows');
});

describe('live examples, in a private namespace', () => {
  let ns: Netns;
  beforeAll(() => {
    ns = Netns.create();
    ns.conntrack('-I', '-p', 'tcp', '-s', '10.70.0.1', '-d', '10.70.0.2', '--sport', '1', '--dport', '2', '-t', '100', '--state', 'ESTABLISHED');
    ns.conntrack('-I', '-p', 'udp', '-s', '10.70.0.1', '-d', '10.70.0.2', '--sport', '1', '--dport', '2', '-t', '100');
  });
  afterAll(() => ns?.destroy());

  test('list-table.js counts per protocol', () => {
    const r = run('list-table.js', ns.name);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^tcp 1\nudp 1\ntotal 2 of \d+\n$/);
  });

  test('watch-events.js prints a connection starting and ending', async () => {
    const child = spawn(process.execPath, [path.join(EX, 'watch-events.js'), ns.name, '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    // it says when it listens (node starts slowly on a loaded machine)
    await new Promise((r) => child.stderr.once('data', r));
    ns.conntrack('-I', '-p', 'udp', '-s', '10.70.0.9', '-d', '10.70.0.2', '--sport', '5', '--dport', '6', '-t', '100');
    ns.conntrack('-D', '-p', 'udp', '-s', '10.70.0.9');
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(out).toContain('new 10.70.0.9:5 -> 10.70.0.2:6');
    expect(out).toContain('destroy 10.70.0.9:5 -> 10.70.0.2:6');
  });

  test('flow-logger.js prints the start and end of a flow into the interface network, with its direction', async () => {
    const child = spawn(process.execPath, [path.join(EX, 'flow-logger.js'), ns.name, '100.64.0.1/16', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    // it says when it listens (node starts slowly on a loaded machine)
    await new Promise((r) => child.stderr.once('data', r));
    ns.conntrack('-I', '-p', 'udp', '-s', '10.70.0.9', '-d', '100.64.0.1', '--sport', '7', '--dport', '8', '-t', '100');
    ns.conntrack('-I', '-p', 'udp', '-s', '10.70.0.9', '-d', '10.70.0.2', '--sport', '7', '--dport', '8', '-t', '100'); // not ours
    ns.conntrack('-D', '-p', 'udp', '-s', '10.70.0.9', '-d', '100.64.0.1');
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(out).toMatch(/^start ingress proto 17 10\.70\.0\.9:7 -> 100\.64\.0\.1:8 rx 0\/0 tx 0\/0 flow ([0-9a-f-]{36})\nend ingress proto 17 10\.70\.0\.9:7 -> 100\.64\.0\.1:8 rx \d+\/\d+ tx \d+\/\d+ flow \1\n$/);
  });
});
