// connlabel.conf parsing like libnetfilter_conntrack labels.c (__labelmap_new).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConntrackError } from '../src/errors';
import {
  DEFAULT_CONNLABEL_PATH, formatLabelsText, formatLabelsXml, labelBit, loadLabelMap, parseLabelMap, tryLoadLabelMap,
} from '../src/format';

/** bit -> name pairs of a parsed map. */
function entries(text: string): [number, string][] {
  const m = parseLabelMap(text);
  if (!m) return [];
  const out: [number, string][] = [];
  m.byBit.forEach((n, i) => n !== undefined && out.push([i, n]));
  return out;
}

describe('parseLabelMap', () => {
  test.each<[string, string, [number, string][]]>([
    ['simple', '0 eth0-in\n1 eth0-out\n', [[0, 'eth0-in'], [1, 'eth0-out']]],
    ['comment only in column 0', '# 1 no\n #2 no\n3 yes\n', [[3, 'yes']]],
    ['blanks trimmed, inner blanks kept', '  7 \t my label \r\n', [[7, 'my label']]],
    ['no separator needed after the number', '4foo\n', [[4, 'foo']]],
    ['hex and octal like strtoul(.., 0)', '0x10 hex\n010 oct\n', [[8, 'oct'], [16, 'hex']]],
    ['"0x" without hex digit reads 0 then the name "x..."', '0xz name\n', [[0, 'xz name']]],
    ['"08" is octal 0 followed by the name "8 a"', '08 a\n', [[0, '8 a']]],
    ['sign accepted: +2 ok, -0 ok, -1 wraps and is rejected', '+2 plus\n-0 zero\n-1 neg\n', [[0, 'zero'], [2, 'plus']]],
    ['bit 1023 ok, 1024 rejected', '1023 last\n1024 over\n', [[1023, 'last']]],
    ['no number', 'foo\n\n', []],
    ['no name', '5\n6   \n', []],
    ['insane characters reject the line', '1 a_b\n2 a.b\n3 ok-1 2\n', [[3, 'ok-1 2']]],
    ['first name for a bit wins', '1 first\n1 second\n', [[1, 'first']]],
    ['a duplicate name is rejected and leaves the bit free', '1 dup\n2 dup\n2 other\n', [[1, 'dup'], [2, 'other']]],
    ['last line without newline', '9 end', [[9, 'end']]],
    ['NUL ends the line', '3 ab\0cd\n', [[3, 'ab']]],
  ])('%s', (_n, text, expected) => {
    expect(entries(text)).toEqual(expected);
  });

  test('no valid line: no map (the library returns NULL)', () => {
    expect(parseLabelMap('# nothing\n')).toBeUndefined();
  });

  test('lines longer than 1023 bytes are read in fgets() pieces', () => {
    // the second piece starts with "5 tail" and is a line of its own
    const text = '1 ' + '_'.repeat(1021) + '5 tail\n'; // 1023 bytes, then the rest
    expect(entries(text)).toEqual([[5, 'tail']]);
  });

  test('byBit length is the highest bit + 1, byName resolves names', () => {
    const m = parseLabelMap('3 c\n1 a\n')!;
    expect(m.byBit.length).toBe(4);
    expect(m.byBit[0]).toBeUndefined();
    expect(labelBit(m, 'c')).toBe(3);
    expect(labelBit(m, 'zzz')).toBe(-1);
  });
});

describe('loading (-o labels behaviour)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ct-lbl-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('default path', () => {
    expect(DEFAULT_CONNLABEL_PATH).toBe('/etc/xtables/connlabel.conf');
  });

  test('missing file: no map, conntrack prints perror and shows no labels', () => {
    const r = tryLoadLabelMap(join(dir, 'missing.conf'));
    expect(r.map).toBeUndefined();
    expect(r.warning).toBe('nfct_labelmap_new: No such file or directory');
    expect(loadLabelMap(join(dir, 'missing.conf'))).toBeUndefined();
  });

  test('file without labels: "Success" (errno reset to 0)', () => {
    const p = join(dir, 'empty.conf');
    writeFileSync(p, '# none\n');
    expect(tryLoadLabelMap(p)).toEqual({ warning: 'nfct_labelmap_new: Success' });
    const d = join(dir, 'adir');
    mkdirSync(d);
    expect(tryLoadLabelMap(d)).toEqual({ warning: 'nfct_labelmap_new: Success' });
  });

  test('valid file', () => {
    const p = join(dir, 'ok.conf');
    writeFileSync(p, '0 in\n');
    const r = tryLoadLabelMap(p);
    expect(r.warning).toBeUndefined();
    expect(r.map?.byBit).toEqual(['in']);
  });

  test('bad argument', () => {
    expect(() => loadLabelMap('')).toThrow(ConntrackError);
    try {
      loadLabelMap('');
    } catch (e) {
      expect((e as ConntrackError).code).toBe('ERR_CT_INVALID_ARGUMENT');
    }
  });
});

test('label field text and XML', () => {
  const m = parseLabelMap('0 a\n9 b\n')!;
  const bits = new Uint8Array(16);
  bits[0] = 1;
  bits[1] = 2; // bit 9
  expect(formatLabelsText(bits, m)).toBe('labels=a,b ');
  expect(formatLabelsXml(bits, m)).toBe('<labels><label>a</label><label>b</label></labels>');
  expect(formatLabelsText(new Uint8Array(16), m)).toBe('labels ');
  expect(formatLabelsXml(new Uint8Array(16), m)).toBe('<labels></labels>');
});
