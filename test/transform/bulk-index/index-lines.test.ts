// The per-object core shared by the backfill and the loader's direct delivery: its pure parts here;
// indexing against the engine is tested through both users (test/scripts/backfill, test/transform/loader/direct.test.ts).
import { describe, expect, it } from 'vitest';
import { documentKeys, outsideDates } from '../../../transform/bulk-index/index-lines.ts';
import { parseAlbLine, parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { corpusAccessLines } from '../../corpus.ts';
import { allLogFileLines } from '../../samples.ts';

describe('documentKeys', () => {
  it('reads event day and event.id from the JSON fast path exactly as the parsed document has them', async () => {
    let checked = 0;
    // Every line of the corpus and sample folders; the other log types in them are left out.
    for (const { file, index: offset, line } of allLogFileLines()) {
      const options = { source: { bucket: 'b', key: file, offset } };
      const parsed = parseAlbLine(line, options);
      const json = parseAlbLineToJson(line, options);
      if (parsed.kind !== 'document' || json.kind !== 'document') continue;
      const document = parsed.document as unknown as { '@timestamp': string; event: { id: string } };
      expect(documentKeys(json.json)).toEqual({ day: document['@timestamp'].slice(0, 10), id: document.event.id });
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(corpusAccessLines().length);
  });
});


describe('outsideDates', () => {
  it('keeps inclusive bounds and open ends', () => {
    expect(outsideDates('2026-01-02', { from: '2026-01-02', to: '2026-01-02' })).toBe(false);
    expect(outsideDates('2026-01-01', { from: '2026-01-02' })).toBe(true);
    expect(outsideDates('2026-01-03', { to: '2026-01-02' })).toBe(true);
    expect(outsideDates('1999-12-31', {})).toBe(false);
  });
});
