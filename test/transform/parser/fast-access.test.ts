// The byte path writes, for every line it takes, exactly the bytes of parseAlbLineToJson's JSON
// (what `albatross parse` wrote before it), and hands every other line back. Compared line by
// line over the corpus, the public samples (when present), the generator's objects, generated
// lines of every field kind, number and timestamp shapes, and mutated lines; each test also
// counts that both paths were taken.
import fc from 'fast-check';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generateObjects } from '../../../scripts/local/generator.ts';
import { FALLBACK, lastDocumentTagged, maxDocumentBytes, writeAccessJson } from '../../../transform/parser/fast-access.ts';
import { parseAlbLineToJson, type LineSource } from '../../../transform/parser/index.ts';
import { corpusLine } from '../../corpus.ts';
import { accessLogLines } from '../../samples.ts';
import { line as lineArbitrary, mutate, mutationOf, render } from './line-arbitrary.ts';

const S3_KEY = 'AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2024/01/15/' +
  '123456789012_elasticloadbalancing_eu-west-1_app.my-lb.0123456789abcdef_20240115T1210Z_10.0.0.1_abcd.log.gz';
/** No source (event.id from the line), a file (no account or region: those come from the ARN), an S3 object (offset beyond 2^31). */
const SOURCES: (LineSource | undefined)[] = [undefined, { key: '/var/log/alb/mix.log', offset: 12_345 }, { bucket: 'logs', key: S3_KEY, offset: 2 ** 40 + 7 }];

interface Counts { fast: number; fallback: number; tagged: number }

/** The fields of a line (a quoted one as it is written, quotes included): join them with spaces for the line again. */
function tokens(line: string): string[] {
  return line.match(/"[^"]*"|[^ "]+/g) ?? [];
}

/**
 * Runs the byte path on `line` (a string is encoded as UTF-8, as the CLI reads it) and compares
 * it with the string parser on the line's decoded text. The line sits inside a larger buffer, as
 * in an input chunk, or alone in one (`alone`: the last line of an input); the output goes to a
 * buffer of exactly the room asked for, after five bytes that must stay untouched.
 */
function check(text: string | Buffer, source: LineSource | undefined, counts: Counts, alone = false): void {
  const line = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const before = Buffer.from('http x "y\n');
  const data = alone ? Buffer.from(line) : Buffer.concat([before, line, Buffer.from('\n"-" 1 2')]);
  const start = alone ? 0 : before.length;
  const end = start + line.length;
  const out = Buffer.alloc(5 + maxDocumentBytes(line.length, source), 0x23);
  const written = writeAccessJson(data, start, end, source, out, 5);
  if (written === FALLBACK) {
    counts.fallback++;
    return;
  }
  counts.fast++;
  const expected = parseAlbLineToJson(data.toString('utf8', start, end), source === undefined ? {} : { source });
  expect(expected.kind, data.toString('utf8', start, end)).toBe('document');
  if (expected.kind !== 'document') return;
  expect(out.toString('utf8', 5, written), data.toString('utf8', start, end)).toBe(expected.json);
  expect(lastDocumentTagged()).toBe(expected.tagged);
  if (expected.tagged) counts.tagged++;
  expect(out.subarray(0, 5).every((byte) => byte === 0x23)).toBe(true);
}

function checkAll(lines: readonly string[]): Counts {
  const counts = { fast: 0, fallback: 0, tagged: 0 };
  for (const source of SOURCES) for (const line of lines) check(line, source, counts);
  return counts;
}

describe('the byte path for access-log lines', () => {
  it('gives the string parser\'s bytes for the corpus and the samples, with each kind of source', () => {
    const lines = accessLogLines();
    const counts = checkAll(lines);
    // escapes, unknown fields, malformed values and IPv6 hosts with odd shapes go the string path
    expect(counts.fast).toBeGreaterThan(lines.length);
    expect(counts.fallback).toBeGreaterThan(0);
    expect(counts.tagged).toBeGreaterThan(0);   // an anonymised (5-octet) client address, written by the byte path
    // the last line of an input (no bytes after it in its buffer)
    const alone = { fast: 0, fallback: 0, tagged: 0 };
    for (const line of lines) check(line, SOURCES[1], alone, true);
    expect(alone.fast).toBe(counts.fast / SOURCES.length);
  });

  it('gives the string parser\'s bytes for the generator\'s objects, malformed and empty lines included', () => {
    const counts = { fast: 0, fallback: 0, tagged: 0 };
    let lines = 0;
    for (const object of generateObjects({ lines: 3000, days: 2, seed: 19, files: 3, badLines: 40, emptyLines: 15 })) {
      const body = gunzipSync(object.body);
      for (let start = 0; start < body.length;) {
        let end = body.indexOf(10, start);
        if (end === -1) end = body.length;
        check(body.subarray(start, end), { bucket: 'logs', key: object.key, offset: start }, counts);
        lines++;
        start = end + 1;
      }
    }
    expect(counts.fast + counts.fallback).toBe(lines);
    expect(counts.fast).toBeGreaterThan(lines * 0.7);
    expect(counts.fallback).toBeGreaterThanOrEqual(40);
  });

  it('gives the string parser\'s bytes for generated lines of every field kind', () => {
    const counts = { fast: 0, fallback: 0, tagged: 0 };
    // half of them as most real lines are (byte counts of up to 15 digits, an ASCII user agent), which the byte path takes
    const usual = fc.tuple(lineArbitrary, fc.nat(), fc.nat(), fc.constantFrom('-', 'curl/8.5.0', 'Mozilla/5.0 (X11; Linux x86_64)', ''))
      .map(([l, received, sent, userAgent]) => ({ ...l, received, sent, userAgent }));
    fc.assert(fc.property(fc.oneof(lineArbitrary, usual), fc.constantFrom(...SOURCES), (l, source) => check(render(l), source, counts)), { numRuns: 3000 });
    expect(counts.fast).toBeGreaterThan(200);
    expect(counts.fallback).toBeGreaterThan(200);
  });

  it('writes numbers as JavaScript does, and leaves the shapes it cannot copy to the string path', () => {
    // a line with every field, then each numeric field given each shape
    const base = tokens(corpusLine('node-ip'));
    const numbers = ['0', '7', '000', '0400', '0.000', '1.500', '00.25', '10.0', '100', '.5', '5.', '.', '0.000001', '0.0000001', '0.00000100',
      '123456789012345', '1234567890123456', '0.123456789', '0.1234567891', '99999.999999999', '1e3', '-0', '-1', '+1', '65535', '65536', '999', '1000',
      '2147483647', '2147483648', '9007199254740991', ''];
    const lines: string[] = [];
    for (const field of [5, 6, 7, 8, 9, 10, 11, 20]) {
      for (const number of numbers) lines.push(base.map((token, i) => (i === field ? number : token)).join(' '));
    }
    for (const number of numbers) {
      lines.push(base.map((token, i) => (i === 3 ? `203.0.113.9:${number}` : i === 4 ? `[2001:db8::1]:${number}` : token)).join(' '));
      lines.push(base.map((token, i) => (i === 12 ? `"GET https://example.com:${number}/a?b HTTP/1.1"` : token)).join(' '));
    }
    const counts = checkAll(lines);
    expect(counts.fast).toBeGreaterThan(100);
    expect(counts.fallback).toBeGreaterThan(100);
  });

  it('reads timestamps and durations as the string parser does', () => {
    const base = tokens(corpusLine('node-ip'));
    const pairs = [
      ['2024-01-15T12:10:47.058000Z', '2024-01-15T12:10:46.000001Z'], ['2024-01-15T12:10:47Z', '2024-01-15T12:10:47Z'],
      ['2024-01-15T12:10:47.1Z', '2024-01-15T00:00:00.123456789Z'], ['2024-01-15T12:10:47.058000Z', '2024-01-15T12:10:48.000000Z'],
      ['2024-01-16T00:00:01.000000Z', '2024-01-15T23:59:59.000000Z'], ['2024-02-29T01:00:00.000000Z', '2024-02-29T00:00:00.000000Z'],
      ['2023-02-29T01:00:00.000000Z', '2023-02-29T00:00:00.000000Z'], ['2261-12-31T23:59:59.999999999Z', '2261-12-31T00:00:00Z'],
      ['2262-01-01T00:00:00Z', '2262-01-01T00:00:00Z'], ['1969-12-31T23:59:59Z', '1970-01-01T00:00:00Z'], ['2024-01-15T24:00:00Z', '-'],
      ['2024-01-15T12:10:47.Z', '2024-01-15T12:10:47.0000000000Z'], ['2024-01-15T12:60:00Z', '2024-01-15 12:00:00Z'], ['2024-13-01T00:00:00Z', '-'],
      ['2024-01-15T12:10:47.058000Z', 'x024-01-15T12:10:47.058000Z'], ['2024-01-15T12:10:47.058000Z', '-1'],
    ];
    const lines = pairs.map(([time, created]) => base.map((token, i) => (i === 1 ? time : i === 21 ? created : token)).join(' '));
    const counts = checkAll(lines);
    expect(counts.fast).toBeGreaterThan(5 * SOURCES.length);
    expect(counts.fallback).toBeGreaterThan(5 * SOURCES.length);
  });

  it('gives the string parser\'s bytes for mutated lines and random bytes', () => {
    const counts = { fast: 0, fallback: 0, tagged: 0 };
    const real = accessLogLines();
    const shapes = ['0.0000001', '.5', '0400', 'TLSv1', 'TLSv12', 'SSLv3', 'tlsv1.2', 'HTTPS://A.example/', '"GET HTTP://x.example:80/ HTTP/1.1"', 'arn:aws:x::1:y',
      'arn:aws:elasticloadbalancing:us-east-1::targetgroup/x/1', '"forward,,-,redirect"', '"- -"', '""', '"1.2.3.4:80 - 5.6.7.8:81"', '[1.2.3.4]:80', '[::1]:80', '::1:80'];
    fc.assert(
      fc.property(fc.constantFrom(...real), fc.array(mutationOf(shapes), { minLength: 1, maxLength: 4 }), fc.constantFrom(...SOURCES), (line, mutations, source) => {
        check(mutations.reduce(mutate, line), source, counts);
      }),
      { numRuns: 3000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => check(Buffer.from(bytes), SOURCES[1], counts)), { numRuns: 300 });
    expect(counts.fast).toBeGreaterThan(100);
    expect(counts.fallback).toBeGreaterThan(100);
  });

  it('leaves lines to the string path when the source\'s path needs JSON escaping', () => {
    const counts = { fast: 0, fallback: 0, tagged: 0 };
    for (const line of accessLogLines()) check(line, { key: 'logs/"odd"\\name.log', offset: 1 }, counts);
    expect(counts).toEqual({ fast: 0, fallback: accessLogLines().length, tagged: 0 });
  });
});
