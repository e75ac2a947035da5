// Fuzzing: random bytes and mutated real lines never throw, and always give a
// schema-conforming document, a skip, or a failure with a reason.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAlbLine, parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { schemaProblems } from '../schema/schema-check.ts';
import { allAccessLogLines } from '../../samples.ts';
import { LINE_36_FIELDS_IPV6 } from '../../corpus.ts';
import { mutate, mutation, TRICKY } from './line-arbitrary.ts';

function checkLine(line: string): void {
  const options = { source: { bucket: 'b', key: 'k', offset: 7 }, original: true };
  let result: ReturnType<typeof parseAlbLine> | undefined;
  let json: ReturnType<typeof parseAlbLineToJson> | undefined;
  expect(() => {
    result = parseAlbLine(line, options);
    json = parseAlbLineToJson(line, options);
  }).not.toThrow();
  if (!result || !json) throw new Error('no result');
  expect(['document', 'skipped', 'failed']).toContain(result.kind);
  expect(json.kind).toBe(result.kind);
  if (result.kind === 'document') {
    expect(schemaProblems(result.document)).toEqual([]);
    if (json.kind === 'document') {
      expect(json.json).toBe(JSON.stringify(result.document));
      expect(JSON.parse(json.json)).toEqual(result.document);
    }
  } else {
    expect(result.reason.length).toBeGreaterThan(0);
    expect(result.reason).not.toMatch(/^internal parser error/);
  }
}

const realLines = [...allAccessLogLines().map(({ line }) => line), LINE_36_FIELDS_IPV6];
describe('fuzz', () => {
  it('random strings (any UTF-16, lone surrogates included)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 600 }), checkLine), { numRuns: 1000 });
  });

  it('random bytes decoded as UTF-8 (invalid sequences become U+FFFD)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => checkLine(Buffer.from(bytes).toString('utf8'))), { numRuns: 500 });
  });

  it('random space-separated tokens of ALB-like pieces', () => {
    const token = fc.oneof(fc.constantFrom(...TRICKY, 'http', '2018-07-02T22:23:00.186641Z', '"GET / HTTP/1.1"', '"-"'), fc.string({ maxLength: 8 }));
    fc.assert(fc.property(fc.array(token, { maxLength: 45 }), (tokens) => checkLine(tokens.join(' '))), { numRuns: 1000 });
  });

  it('mutated real lines', () => {
    fc.assert(
      fc.property(fc.constantFrom(...realLines), fc.array(mutation, { minLength: 1, maxLength: 4 }), (line, mutations) => {
        checkLine(mutations.reduce(mutate, line));
      }),
      { numRuns: 3000 },
    );
  });
});
