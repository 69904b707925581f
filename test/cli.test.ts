// ctrack's argument handling, exit codes and error lines (conntrack-tools
// conventions: 0 ok, 1 operation failed, 2 bad arguments with one line).
import * as path from 'path';
import { ctrack } from './helpers/cli';
import { helpText } from '../src/cli/args';

const FIX = path.join(__dirname, 'fixtures');
const DUMP = path.join(FIX, 'ipv4-basic', 'dump.pcap');

describe('bad arguments: exit 2 and exactly one line on stderr', () => {
  test.each([
    ['unknown flag', ['-X']],
    ['unknown long option', ['-L', '--frobnicate']],
    ['unknown output format', ['-L', '--replay', DUMP, '-o', 'extended,bogus']],
    ['xml and json together', ['-L', '--replay', DUMP, '-o', 'xml,json']],
    ['no command', ['--replay', DUMP]],
    ['two commands', ['-L', '-E', '--replay', DUMP]],
    ['bad table', ['-L', 'nosuchtable', '--replay', DUMP]],
    ['table not valid for the command', ['-S', 'dying', '--replay', DUMP]],
    ['missing option value', ['-L', '--replay']],
    ['-I without an address', ['-I', '-p', 'tcp', '-d', '10.0.0.1', '-t', '5']],
    ['--state without a protocol that has states', ['-L', '--state', 'ESTABLISHED']],
    ['-I with --replay', ['-I', '-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.2', '-t', '5', '--replay', DUMP]],
    ['-F with --replay', ['-F', '--replay', DUMP]],
    ['-G against the kernel without a tuple', ['-G', '-p', 'tcp']],
    ['-I with a bad address', ['-I', '-p', 'tcp', '-s', '10.0.0.300', '-d', '10.0.0.1', '-t', '5']],
    ['-I with an unknown state', ['-I', '-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.2', '-t', '5', '--state', 'NOPE']],
    ['-I with ports but no port protocol', ['-I', '-p', 'icmp', '-s', '10.0.0.1', '-d', '10.0.0.2', '-t', '5', '--sport', '1']],
    ['-I with a port out of range', ['-I', '-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.0.2', '-t', '5', '--sport', '70000']],
  ])('%s', async (_name, argv) => {
    const r = await ctrack(...argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ctrack: /);
  });
});

describe('operation failures: exit 1 with a clear line', () => {
  test('a missing capture file names the file and the error code', async () => {
    const r = await ctrack('-L', '--replay', '/nonexistent/x.pcap');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/nonexistent\/x\.pcap.*ERR_CT_CAPTURE/);
  });

  test('a file that is not a pcap', async () => {
    const r = await ctrack('-L', '--replay', path.join(FIX, 'README.md'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a classic pcap file.*ERR_CT_CAPTURE/);
  });

  test('filter flags where they mean nothing are refused (exit 2) before any kernel access', async () => {
    const r = await ctrack('-S', '-p', 'tcp');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not supported with -S/);
  });

  test('-E over a capture without events shows nothing and exits 1 like conntrack', async () => {
    const r = await ctrack('-E', '--replay', DUMP);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('conntrack v1.4.7 (conntrack-tools): 0 flow events have been shown.\n');
    expect(r.code).toBe(1);
  });
});

describe('output', () => {
  test('-o json: one parseable object per entry, summary on stderr', async () => {
    const r = await ctrack('-L', '--replay', DUMP, '-o', 'json');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    const objs = lines.map((l) => JSON.parse(l));
    expect(objs.every((o) => o.kind === 'flow' && o.event === undefined)).toBe(true);
    expect(objs.map((o) => o.id)).toContain(2549649002);
    expect(r.stderr).toMatch(/6 flow entries have been shown/);
    expect(r.code).toBe(0);
  });

  test('-L expect over a capture with no expectations lists nothing (exit 0) and prints no XML frame', async () => {
    const r = await ctrack('-L', 'expect', '--replay', DUMP, '-o', 'xml');
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
  });

  test('--help teaches: every command and examples', () => {
    const h = helpText();
    for (const s of ['-L', '-G', '-E', '-S', '-C', '--replay', '-o, --output', 'Examples:', 'Exit codes']) expect(h).toContain(s);
  });
});
