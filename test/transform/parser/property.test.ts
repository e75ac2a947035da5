// Property-based round trip: generate the values of every field (IPv4/IPv6,
// `-`, escapes, spaces in URLs, 20–36 fields), render an ALB line the way ALB
// writes it, parse it, and compare with the document those values must give.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAlbLine, parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { expected, line, render } from './line-arbitrary.ts';

describe('round trip: generated values -> rendered line -> document', () => {
  it('gives the document the values describe', () => {
    fc.assert(
      fc.property(line, (l) => {
        const result = parseAlbLine(render(l));
        expect(result.kind).toBe('document');
        if (result.kind !== 'document') return;
        const { id, ...event } = result.document.event ?? {};
        expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect({ ...result.document, event }).toEqual(expected(l));
        const json = parseAlbLineToJson(render(l));
        expect(json.kind === 'document' && json.json).toBe(JSON.stringify(result.document));
      }),
      { numRuns: 500 },
    );
  });
});
