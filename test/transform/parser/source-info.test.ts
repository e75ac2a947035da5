// Per-object facts are cached per source; lines of several objects arriving
// interleaved must get exactly what they get one object at a time.
import { describe, expect, it } from 'vitest';
import { parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { corpusLine } from '../../corpus.ts';

const KEY = (region: string, n: number): string =>
  `AWSLogs/123456789012/elasticloadbalancing/${region}/2024/01/15/123456789012_elasticloadbalancing_${region}_app.my-lb.1234567890abcdef_20240115T1210Z_10.0.0.${n}_abc.log.gz`;

describe('source info cache', () => {
  it('gives interleaved objects the same documents as sequential ones', () => {
    const line = corpusLine('http');
    // more objects than the cache holds, so entries are evicted and computed again
    const sources = Array.from({ length: 100 }, (_, n) => ({ bucket: n % 3 === 0 ? undefined : `bucket-${n % 2}`, key: KEY(n % 2 ? 'eu-west-1' : 'us-east-2', n) }));
    const sequential = sources.map((source) => parseAlbLineToJson(line, { source: { ...source, offset: 7 } }));
    for (let round = 0; round < 3; round++) {
      sources.forEach((source, n) => {
        expect(parseAlbLineToJson(line, { source: { ...source, offset: 7 } })).toEqual(sequential[n]);
      });
    }
    const first = sequential[1]!;
    if (first.kind !== 'document') throw new Error(first.reason);
    const document = JSON.parse(first.json);
    expect(document.log.file.path).toBe(`s3://bucket-1/${KEY('eu-west-1', 1)}`);
    expect(document.cloud).toEqual({ provider: 'aws', account: { id: '123456789012' }, region: 'eu-west-1' });
    expect(new Set(sequential.map((result) => result.kind === 'document' && JSON.parse(result.json).event.id)).size).toBe(100);
  });
});
