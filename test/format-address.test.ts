// formatIPv4 / formatIPv6 against glibc inet_ntoa / inet_ntop(AF_INET6).
import { formatIPv4, formatIPv6 } from '../src/format';

/** 16 bytes from eight 16-bit words. */
function v6(...words: number[]): Uint8Array {
  const b = new Uint8Array(16);
  words.forEach((w, i) => {
    b[2 * i] = w >> 8;
    b[2 * i + 1] = w & 0xff;
  });
  return b;
}

describe('formatIPv6 (glibc inet_ntop6)', () => {
  test.each([
    ['all zero', v6(0, 0, 0, 0, 0, 0, 0, 0), '::'],
    ['loopback', v6(0, 0, 0, 0, 0, 0, 0, 1), '::1'],
    ['trailing run', v6(1, 0, 0, 0, 0, 0, 0, 0), '1::'],
    ['link local', v6(0xfe80, 0, 0, 0, 0, 0, 0, 1), 'fe80::1'],
    ['tie: first run of two wins', v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), '2001:db8::1:0:0:1'],
    ['longer later run wins', v6(1, 0, 0, 2, 0, 0, 0, 3), '1:0:0:2::3'],
    ['IPv4-mapped', v6(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304), '::ffff:1.2.3.4'],
    ['IPv4-compatible', v6(0, 0, 0, 0, 0, 0, 0x0102, 0x0304), '::1.2.3.4'],
    ['run of 6 then words: glibc still uses dotted quad', v6(0, 0, 0, 0, 0, 0, 2, 3), '::0.2.0.3'],
    ['mapped zero address', v6(0, 0, 0, 0, 0, 0xffff, 0, 0), '::ffff:0.0.0.0'],
    ['ffff not after a 5-run stays hex', v6(0, 0, 0, 0, 0xffff, 0, 0x0102, 0x0304), '::ffff:0:102:304'],
    ['middle run', v6(1, 0, 0, 0, 0, 0, 0, 8), '1::8'],
    ['single zero word is not compressed', v6(1, 0, 2, 3, 4, 5, 6, 7), '1:0:2:3:4:5:6:7'],
    ['no zero', v6(0x2001, 0xdb8, 0x85a3, 0x8d3, 0x1319, 0x8a2e, 0x370, 0x7348), '2001:db8:85a3:8d3:1319:8a2e:370:7348'],
    ['lowercase, no leading zeros', v6(0xABCD, 0x00EF, 0x000A, 0xF000, 0, 0, 0, 0x0BAD), 'abcd:ef:a:f000::bad'],
    ['leading single zero', v6(0, 1, 2, 3, 4, 5, 6, 7), '0:1:2:3:4:5:6:7'],
    ['trailing single zero', v6(1, 2, 3, 4, 5, 6, 7, 0), '1:2:3:4:5:6:7:0'],
    ['run of 7 from 1', v6(1, 0, 0, 0, 0, 0, 0, 0), '1::'],
  ])('%s', (_name, bytes, expected) => {
    expect(formatIPv6(bytes, 0)).toBe(expected);
    expect(formatIPv6(bytes, 0)).toBe(formatIPv6(bytes, 0).toLowerCase());
  });

  test('reads at an offset', () => {
    const buf = new Uint8Array(20);
    buf.set(v6(0xfe80, 0, 0, 0, 0, 0, 0, 1), 3);
    expect(formatIPv6(buf, 3)).toBe('fe80::1');
  });
});

describe('formatIPv4 (glibc inet_ntoa)', () => {
  test.each([
    [[127, 0, 0, 1], '127.0.0.1'],
    [[0, 0, 0, 0], '0.0.0.0'],
    [[255, 255, 255, 255], '255.255.255.255'],
    [[10, 1, 20, 3], '10.1.20.3'],
  ])('%j', (bytes, expected) => {
    expect(formatIPv4(Uint8Array.from(bytes), 0)).toBe(expected);
  });

  test('reads at an offset', () => {
    expect(formatIPv4(Uint8Array.from([9, 9, 192, 168, 0, 1]), 2)).toBe('192.168.0.1');
  });
});
