// The quick parser for plain listings (src/cli/quickargs.ts) must give what
// the full commander parser gives, and leave everything else to it.
import { quickListArgs } from '../src/cli/quickargs';
import { parseArgs } from '../src/cli/args';

const accepted: string[][] = [
  ['-L'],
  ['--dump'],
  ['-L', 'conntrack'],
  ['-L', 'expect'],
  ['-L', 'dying'],
  ['-L', 'unconfirmed'],
  ['-L', '--netns', 'blue'],
  ['--netns', 'blue', '-L'],
  ['-L', 'expect', '--netns', '/proc/1/ns/net'],
  ['-L', '-o', 'extended'],
  ['-L', '-o', 'extended,id'],
  ['-L', '--output', 'xml'],
  ['-L', '-o', 'json', '--netns', 'x'],
  ['-L', '-o', 'id,extended,ktimestamp,labels,timestamp,userspace'],
  ['-L', '-f', 'ipv4'],
  ['-L', '--family', 'ipv6', '-o', 'extended', '--netns', 'n1'],
  ['-o', 'extended', '-f', 'ipv4', '--netns', 'n1', '-L', 'conntrack'],
];

// Left to the full parser: other commands, other flags, joined forms, repeats, mistakes.
const deferred: string[][] = [
  [],
  ['-E'],
  ['-S'],
  ['-C'],
  ['-L', '-p', 'tcp'],
  ['-L', '--netns=blue'],
  ['-Lexpect'],
  ['-L', '-L'],
  ['-L', '--dump'],
  ['-L', '-o', 'extended', '-o', 'id'],
  ['-L', 'nosuchtable'],
  ['-L', '-o', 'bogus'],
  ['-L', '-o', 'xml,json'],
  ['-L', '-f', 'ipv5'],
  ['-L', '--netns'],
  ['-L', '--netns', '-o'],
  ['-L', '--netns', ''],
  ['-L', '--replay', 'x.pcap'],
  ['-L', '--explain'],
  ['-L', 'expect', 'extra'],
  ['-L', '--help'],
  ['-h'],
];

describe('quickListArgs', () => {
  test.each(accepted.map((a) => [a.join(' '), a]))('%s: same CliArgs as parseArgs', (_name, argv) => {
    const quick = quickListArgs(argv as string[]);
    expect(quick).toBeDefined();
    expect(quick).toStrictEqual(parseArgs(argv as string[]));
  });

  test.each(deferred.map((a) => [a.join(' ') || '(none)', a]))('%s: left to the full parser', (_name, argv) => {
    expect(quickListArgs(argv as string[])).toBeUndefined();
  });
});
