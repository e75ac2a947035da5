import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ENVELOPE_MARKER,
  createRecordEncoder,
  decodeRecord,
  encodeRecord,
  envelopePrefix,
  envelopeRecordLength,
} from '../../transform/envelope.ts';
import { corpusLine } from '../corpus.ts';

// A real ALB object key shape (AWS documentation example).
const KEY =
  'prefix/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2016/05/01/' +
  '123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz';
const LINE = corpusLine('http');

describe('envelope', () => {
  it('round-trips bucket, key, offset and line (Buffer and string data)', () => {
    const data = encodeRecord({ bucket: 'my-logs', key: KEY, offset: 123_456 }, LINE);
    expect(data[0]).toBe(ENVELOPE_MARKER);
    for (const input of [data, data.toString('utf8')]) {
      expect(decodeRecord(input)).toEqual({ source: { bucket: 'my-logs', key: KEY, offset: 123_456 }, line: LINE });
    }
  });

  it('carries the log type of connection and health-check lines; access records stay as they were', () => {
    for (const type of ['connection', 'health'] as const) {
      const data = encodeRecord({ bucket: 'my-logs', key: KEY, offset: 42, type }, LINE);
      expect(data.toString('latin1')).toContain(` ${type} 42\n`);
      for (const input of [data, data.toString('utf8')]) {
        expect(decodeRecord(input)).toEqual({ source: { bucket: 'my-logs', key: KEY, offset: 42 }, line: LINE, type });
      }
      // the per-object fast path (same header prefix, other offset) keeps the type too
      expect(decodeRecord(encodeRecord({ bucket: 'my-logs', key: KEY, offset: 43, type }, LINE)).type).toBe(type);
    }
    expect(encodeRecord({ bucket: 'my-logs', key: KEY, offset: 42, type: 'access' }, LINE)).toEqual(encodeRecord({ bucket: 'my-logs', key: KEY, offset: 42 }, LINE));
    // after a typed object, an access record of another object decodes without a type
    expect(decodeRecord(encodeRecord({ bucket: 'my-logs', key: `${KEY}.2`, offset: 1 }, LINE)).type).toBeUndefined();
    // an unknown type word is a malformed header, never a guess
    expect(decodeRecord(`\x1emy-logs k nlb 1\n${LINE}`).error).toMatch(/malformed envelope header/);
  });

  it('keeps the header small for real keys', () => {
    const data = encodeRecord({ bucket: 'amzn-s3-demo-logging-bucket', key: KEY, offset: 9_999_999_999 }, LINE);
    const overhead = data.length - Buffer.byteLength(LINE);
    // marker + bucket + key (each "/" becomes "%2F") + offset + separators
    expect(overhead).toBe(1 + 27 + 1 + encodeURIComponent(KEY).length + 1 + 10 + 1);
    // About 250 bytes for a full AWS key: far below Firehose's 5 KB billing unit per record.
    expect(overhead).toBeLessThan(300);
  });

  it('omits the bucket for local files (key = file path)', () => {
    const data = encodeRecord({ key: '/var/log/alb/my file.log', offset: 0 }, LINE);
    expect(data.subarray(0, 2).toString('latin1')).toBe('\x1e ');
    expect(decodeRecord(data)).toEqual({ source: { key: '/var/log/alb/my file.log', offset: 0 }, line: LINE });
  });

  it('encodes many lines of one object from a prefix computed once', () => {
    const source = { bucket: 'b', key: 'AWSLogs/1/x y.log.gz' };
    const prefix = envelopePrefix(source);
    expect(prefix.toString('latin1')).toBe('\x1eb AWSLogs%2F1%2Fx%20y.log.gz ');
    const encode = createRecordEncoder(source);
    const lines = [LINE, '', 'second line'];
    let offset = 0;
    for (const line of lines) {
      const record = encode(offset, Buffer.from(line));
      expect(record.subarray(0, prefix.length).equals(prefix)).toBe(true);
      expect(record.equals(encodeRecord({ ...source, offset }, line))).toBe(true);
      expect(decodeRecord(record)).toEqual({ source: { ...source, offset }, line });
      offset += Buffer.byteLength(line) + 1;
    }
  });

  it('keeps every record of a long run intact: records of one encoder share chunks without overlapping', () => {
    const source = { bucket: 'b', key: 'k' };
    const encode = createRecordEncoder(source);
    const offsets = [0, 9, 10, 99, 100, 123_456_789, Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 3_000; i += 1) offsets.push((i * 7_919) % 1_000_003);
    const lines = offsets.map((offset, i) => 'x'.repeat(i % 5 === 0 ? 70_000 : i % 900) + String(offset));
    const records = offsets.map((offset, i) => encode(offset, Buffer.from(lines[i]!)));
    records.forEach((record, i) => {
      expect(record.equals(encodeRecord({ ...source, offset: offsets[i]! }, lines[i]!)), `record ${i}`).toBe(true);
      expect(decodeRecord(record)).toEqual({ source: { ...source, offset: offsets[i] }, line: lines[i] });
    });
  });

  it('envelopeRecordLength is the length of the record the encoder writes', () => {
    const source = { bucket: 'b', key: 'AWSLogs/1/elasticloadbalancing/x.log.gz' };
    const prefixLength = envelopePrefix(source).length;
    for (const offset of [0, 9, 10, 99_999, 1_234_567_890_123]) {
      expect(envelopeRecordLength(prefixLength, offset, 17)).toBe(encodeRecord({ ...source, offset }, 'x'.repeat(17)).length);
    }
  });

  it('keeps the raw bytes of the line, including invalid UTF-8', () => {
    const raw = Buffer.concat([Buffer.from('http bad '), Buffer.from([0xff, 0xfe]), Buffer.from(' end')]);
    const record = createRecordEncoder({ bucket: 'b', key: 'k' })(7, raw);
    expect(record.subarray(record.length - raw.length).equals(raw)).toBe(true);
    expect(decodeRecord(record).line).toBe('http bad \ufffd\ufffd end');
  });

  it('rejects offsets that are not non-negative integers when encoding', () => {
    const encode = createRecordEncoder({ bucket: 'b', key: 'k' });
    expect(() => encode(-1, LINE)).toThrow(RangeError);
    expect(() => encode(1.5, LINE)).toThrow(RangeError);
    expect(() => envelopePrefix({ bucket: 'b', key: '' })).toThrow(RangeError);
  });

  it('passes bare lines from any producer through, without one trailing line end', () => {
    expect(decodeRecord(LINE)).toEqual({ line: LINE });
    expect(decodeRecord(Buffer.from(LINE + '\n'))).toEqual({ line: LINE });
    expect(decodeRecord(LINE + '\r\n')).toEqual({ line: LINE });
    expect(decodeRecord('a\n\n')).toEqual({ line: 'a\n' });
    expect(decodeRecord('')).toEqual({ line: '' });
    expect(decodeRecord(Buffer.alloc(0))).toEqual({ line: '' });
    expect(decodeRecord(' \x1e not a header')).toEqual({ line: ' \x1e not a header' });
  });

  it('strips one trailing line end from enveloped lines too', () => {
    const data = Buffer.concat([encodeRecord({ bucket: 'b', key: 'k', offset: 3 }, LINE), Buffer.from('\r\n')]);
    expect(decodeRecord(data)).toEqual({ source: { bucket: 'b', key: 'k', offset: 3 }, line: LINE });
  });

  it.each([
    ['no line feed', '\x1eb k 1', 'no line feed'],
    ['missing offset', '\x1eb k\nline', 'malformed envelope header'],
    ['negative offset', '\x1eb k -1\nline', 'malformed envelope header'],
    ['offset not decimal', '\x1eb k 0x10\nline', 'malformed envelope header'],
    ['offset of 17 digits', '\x1eb k 12345678901234567\nline', 'malformed envelope header'],
    ['offset beyond a safe integer', '\x1eb k 9007199254740992\nline', 'offset beyond a safe integer'],
    ['empty key', '\x1eb  1\nline', 'malformed envelope header'],
    ['raw space in the key', '\x1eb my key 1\nline', 'malformed envelope header'],
    ['non-ASCII in the header', '\x1eb clé 1\nline', 'malformed envelope header'],
    ['broken percent escape', '\x1eb k%E9 1\nline', 'invalid URI encoding'],
    ['empty header', '\x1e\nline', 'malformed envelope header'],
  ])('reports a malformed header (%s) as an error, keeping the whole record text', (_, data, reason) => {
    for (const input of [data, Buffer.from(data, 'utf8')]) {
      const decoded = decodeRecord(input);
      expect(decoded.source).toBeUndefined();
      expect(decoded.error).toContain(reason);
      expect(decoded.line).toBe(data);
    }
  });

  it('does not reuse a cached source across different objects', () => {
    const a = encodeRecord({ bucket: 'b', key: 'one', offset: 1 }, 'x');
    const b = encodeRecord({ bucket: 'b', key: 'two', offset: 1 }, 'y');
    const c = encodeRecord({ key: 'two', offset: 5 }, 'z');
    expect(decodeRecord(a).source).toEqual({ bucket: 'b', key: 'one', offset: 1 });
    expect(decodeRecord(b).source).toEqual({ bucket: 'b', key: 'two', offset: 1 });
    expect(decodeRecord(c).source).toEqual({ key: 'two', offset: 5 });
    expect(decodeRecord(a).source).toEqual({ bucket: 'b', key: 'one', offset: 1 });
  });

  it('checks the offset of a record whose header repeats the previous object', () => {
    const valid = Buffer.from('\x1eb k 5\nline');
    expect(decodeRecord(valid).source).toEqual({ bucket: 'b', key: 'k', offset: 5 });
    for (const bad of ['\x1eb k 5x\nline', '\x1eb k \nline', '\x1eb k 12345678901234567\nline', '\x1eb k 9007199254740993\nline', '\x1eb k 7']) {
      expect(decodeRecord(valid).source).toEqual({ bucket: 'b', key: 'k', offset: 5 }); // primes the cache
      const decoded = decodeRecord(Buffer.from(bad));
      expect(decoded.source).toBeUndefined();
      expect(decoded.error).toMatch(/malformed envelope header/);
    }
    expect(decodeRecord(Buffer.from('\x1eb k 9007199254740991\n')).source).toEqual({ bucket: 'b', key: 'k', offset: 9007199254740991 });
    expect(decodeRecord(Buffer.from('\x1eb k 6\n\r\n'))).toEqual({ source: { bucket: 'b', key: 'k', offset: 6 }, line: '' });
    expect(decodeRecord(Buffer.from('\x1eb k 6\n'))).toEqual({ source: { bucket: 'b', key: 'k', offset: 6 }, line: '' });
  });

  it('decodes records of interleaved objects the same as one at a time (property)', () => {
    const sources = [
      { bucket: 'b', key: 'k' },
      { bucket: 'b', key: 'k2' },
      { key: 'k' },
      { bucket: 'bb', key: 'k' },
    ];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: sources.length - 1 }), fc.nat(), fc.string({ maxLength: 20 }).filter((s) => !/[\r\n]/.test(s)))),
        (records) => {
          for (const [which, offset, line] of records) {
            const source = { ...sources[which]!, offset };
            expect(decodeRecord(encodeRecord(source, line))).toEqual({ source, line });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('round-trips any bucket, key, offset and line (property)', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string({ unit: 'grapheme', minLength: 1 }), { nil: undefined }),
        fc.string({ unit: 'grapheme', minLength: 1 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\n') && !s.includes('\r')),
        (bucket, key, offset, line) => {
          const source = bucket === undefined ? { key, offset } : { bucket, key, offset };
          const data = encodeRecord(source, line);
          expect(decodeRecord(data)).toEqual({ source, line });
          expect(decodeRecord(data.toString('utf8'))).toEqual({ source, line });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary bytes after the marker (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const data = Buffer.concat([Buffer.from([ENVELOPE_MARKER]), bytes]);
        const decoded = decodeRecord(data);
        expect(decoded.source !== undefined || decoded.error !== undefined).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
