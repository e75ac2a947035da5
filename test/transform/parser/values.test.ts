import { describe, expect, it } from 'vitest';
import { durationNanos, isIp, isIPv4, lastIndexOfChar, readSeconds, readTimestamp, readUnsigned } from '../../../transform/parser/values.ts';

describe('isIp', () => {
  it.each(['10.0.0.1', '0.0.0.0', '255.255.255.255', '2a02:a33c:4538:1:bcf4:5264:e01c:f215', '::1', 'fd6d:6bbc:c529:6::face:ed83:f46', '::ffff:10.0.0.1'])(
    'accepts %s', (ip) => expect(isIp(ip)).toBe(true));
  it.each(['12.34.178.90.32', '5.334.234.101', '172.160.001.192', '1.2.3', '', '-', 'a.b.c.d', '1.2.3.4 ', 'fe80::1%eth0', ':::', '1.2.3.256'])(
    'rejects %j', (ip) => expect(isIp(ip)).toBe(false));
  it('isIPv4 agrees with node:net on a range of inputs', async () => {
    const { isIPv4: nodeIsIPv4 } = await import('node:net');
    for (const text of ['1.2.3.4', '01.2.3.4', '1.2.3.4.5', '999.1.1.1', '1..2.3', '1.2.3.', '.1.2.3', '100.200.250.255']) {
      expect(isIPv4(text), text).toBe(nodeIsIPv4(text));
    }
  });
});

describe('numbers', () => {
  it('readUnsigned', () => {
    expect(readUnsigned('0', 10)).toBe(0);
    expect(readUnsigned('65535', 65535)).toBe(65535);
    expect(readUnsigned('65536', 65535)).toBeUndefined();
    expect(readUnsigned('4294967296', Number.MAX_SAFE_INTEGER)).toBe(4294967296);
    for (const bad of ['', '-1', '1.0', ' 1', '1e3', '0x10', '99999999999999999']) expect(readUnsigned(bad, Number.MAX_SAFE_INTEGER), bad).toBeUndefined();
  });
  it('readSeconds', () => {
    expect(readSeconds('0.000')).toBe(0);
    expect(readSeconds('0.086')).toBe(0.086);
    expect(readSeconds('12')).toBe(12);
    for (const bad of ['', '.', '-1', '1.2.3', 'abc', '1e3', 'NaN']) expect(readSeconds(bad), bad).toBeUndefined();
  });
  it('read a [start, end) range in place, ignoring the text around it', () => {
    const line = '200 0.023 443 x9';
    expect(readUnsigned(line, 999, 0, 3)).toBe(200);
    expect(readUnsigned(line, 65535, 10, 13)).toBe(443);
    expect(readUnsigned(line, 999, 0, 5)).toBeUndefined();   // '200 0'
    expect(readUnsigned(line, 999, 14, 16)).toBeUndefined(); // 'x9'
    expect(readUnsigned(line, 999, 3, 3)).toBeUndefined();   // empty
    expect(readSeconds(line, 4, 9)).toBe(0.023);
    expect(readSeconds(line, 4, 13)).toBeUndefined();        // '0.023 443'
    expect(readSeconds('x12345678901234567.5y', 1, 20)).toBe(12345678901234567.5); // the slow path reads the range too
  });
  it('lastIndexOfChar searches only [start, end)', () => {
    const line = 'a:1 2a02::f215:50718 b:2';
    expect(lastIndexOfChar(line, 58, 4, 20)).toBe(14);
    expect(lastIndexOfChar(line, 58, 4, 14)).toBe(9);
    expect(lastIndexOfChar(line, 58, 15, 20)).toBe(-1);   // colons outside the range do not count
    expect(lastIndexOfChar(line, 58, 4, 4)).toBe(-1);
  });
});

describe('readTimestamp', () => {
  it('agrees with Date.parse to the millisecond and keeps nanoseconds', () => {
    for (const text of ['2018-07-02T22:23:00.186641Z', '1970-01-01T00:00:00Z', '2000-02-29T23:59:59.999999999Z', '2261-12-31T23:59:59Z', '2024-03-01T00:00:00.1Z']) {
      const instant = readTimestamp(text);
      expect(instant, text).toBeDefined();
      expect(instant!.seconds * 1000 + Math.floor(instant!.nanos / 1e6)).toBe(Date.parse(text));
    }
    expect(readTimestamp('2018-07-02T22:23:00.186641Z')!.nanos).toBe(186_641_000);
  });
  it.each(['2023-02-29T00:00:00Z', '2018-13-01T00:00:00Z', '2018-07-02T24:00:00Z', '2018-07-02 22:23:00Z', '2018-07-02T22:23:00.Z',
    '2018-07-02T22:23:00+00:00', '1969-12-31T23:59:59Z', '2262-05-01T00:00:00Z', '2.0', '', '2018-07-02T22:23:00.1234567890Z'])(
    'rejects %j', (text) => expect(readTimestamp(text)).toBeUndefined());
  it('reads a timestamp in place', () => {
    const line = 'h2 2018-07-02T22:23:00.186641Z app/x';
    expect(readTimestamp(line, 3, 30)).toEqual(readTimestamp('2018-07-02T22:23:00.186641Z'));
    expect(readTimestamp(line, 3, 29)).toBeUndefined();   // cut before the Z
    expect(readTimestamp(line, 2, 30)).toBeUndefined();   // starts at the space
  });
  it('durationNanos', () => {
    const end = readTimestamp('2018-07-02T22:23:00.186641Z')!;
    expect(durationNanos(readTimestamp('2018-07-02T22:22:48.364000Z')!, end)).toBe(11_822_641_000);
    expect(durationNanos(readTimestamp('2018-07-02T22:23:00.186642Z')!, end)).toBeUndefined();
    expect(durationNanos(readTimestamp('2018-07-01T23:59:59.999999Z')!, readTimestamp('2018-07-02T00:00:00.000001Z')!)).toBe(2000);
  });
});

describe('readSeconds agrees with Number() exactly', () => {
  it('on millisecond values and long fractions', () => {
    for (let ms = 0; ms < 20_000; ms += 7) {
      const text = (ms / 1000).toFixed(3);
      expect(readSeconds(text), text).toBe(Number(text));
    }
    for (const text of ['0.019584011', '123456.123456789', '1.5', '0000.1000', '98765432109876543.21', '3.', '.5']) {
      expect(readSeconds(text), text).toBe(Number(text));
    }
  });
});
