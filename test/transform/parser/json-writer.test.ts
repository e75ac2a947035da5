// The generated JSON writer against JSON.stringify of the object writer, on
// records with any subset of fields present: every combination of "what is
// still open" (closing quotes, brackets, braces) the writer tracks, including
// ones the parser rarely produces (lone deep fields, empty arrays).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsTypeOf, SCHEMA_FIELDS } from '../../../transform/schema/fields.ts';
import { CONSTANT_VALUES, SLOT_COUNT, toDocument, type SlotValue } from '../../../transform/parser/emit.ts';
import { toJson } from '../../../transform/parser/json-writer.ts';

const text = fc.oneof(fc.constantFrom('', 'a', '-', 'GET', '"', '\\', '\u0000', '\ud800', 'é', '😀', '</script>'), fc.string({ unit: 'binary', maxLength: 8 }));
const slotValue = (index: number): fc.Arbitrary<SlotValue> => {
  const field = SCHEMA_FIELDS[index]!;
  if ('array' in field && field.array) return fc.array(text, { maxLength: 3 });
  if (field.type === 'geo_point') {
    const degrees = (limit: number) => fc.double({ noNaN: true, noDefaultInfinity: true, min: -limit, max: limit });
    return fc.record({ lat: degrees(90), lon: degrees(180) });
  }
  if (jsTypeOf(field.type) === 'number') return fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }));
  return text;
};
const record = fc.tuple(...Array.from({ length: SLOT_COUNT }, (_, index) => fc.option(slotValue(index), { nil: undefined, freq: 2 })));

describe('toJson', () => {
  it('writes what JSON.stringify writes for the same document, escaped or clean', () => {
    fc.assert(fc.property(record, (values) => {
      const r: SlotValue[] = [...values];
      const expected = JSON.stringify(toDocument(r));
      expect(toJson(r, false)).toBe(expected);
      expect(JSON.parse(toJson(r, false))).toEqual(JSON.parse(expected));
    }), { numRuns: 2000 });
  });

  it('with `clean`, writes strings as they are', () => {
    const r: SlotValue[] = new Array<SlotValue>(SLOT_COUNT).fill(undefined);
    r[SCHEMA_FIELDS.findIndex((field) => field.path === 'url.path')] = '/a';
    expect(toJson(r, true)).toBe(JSON.stringify(toDocument(r)));
  });

  it('always writes the constant fields, and only those, for an empty record', () => {
    const document = JSON.parse(toJson(new Array<SlotValue>(SLOT_COUNT).fill(undefined)));
    expect(document).toEqual({ event: { kind: 'event', category: ['web'], type: ['access'] }, cloud: { provider: 'aws' } });
    expect(Object.keys(CONSTANT_VALUES).sort()).toEqual(['cloud.provider', 'event.category', 'event.kind', 'event.type']);
  });
});
