import { describe, expect, it } from 'vitest';
import { parseAlbObjectKey } from '../../../transform/source/s3-key.ts';
import { CORPUS_FILES, corpusLines } from '../../corpus.ts';
import { itSamples, readSampleLines } from '../../samples.ts';

function sampleKeys(file: string): string[] {
  return readSampleLines(file).filter((line) => !line.startsWith('#'));
}

describe('parseAlbObjectKey', () => {
  it('reads an access-log key with a prefix', () => {
    expect(parseAlbObjectKey(corpusLines(CORPUS_FILES.keys)[0]!)).toEqual({
      kind: 'access-log', accountId: '210987654321', region: 'eu-west-1',
      loadBalancer: 'app/shop-alb/7a1c9e24b5d03f86', date: '2024-03-11', endTime: '2024-03-11T08:20:00Z',
      nodeIp: '10.0.0.12', gzip: true,
    });
  });

  it('classifies every corpus key', () => {
    expect(corpusLines(CORPUS_FILES.keys).map((key) => parseAlbObjectKey(key).kind)).toEqual([
      'access-log', 'connection-log', 'connection-log', 'health-check-log', 'access-log', 'access-log', 'control', 'nlb',
    ]);
  });

  itSamples('reads the AWS example access-log key (public samples)', () => {
    expect(parseAlbObjectKey(sampleKeys('aws-docs_s3-key-examples.txt')[0]!)).toEqual({
      kind: 'access-log', accountId: '123456789012', region: 'us-east-2',
      loadBalancer: 'app/my-loadbalancer/1234567890abcdef', date: '2016-05-01', endTime: '2014-02-15T23:40:00Z',
      nodeIp: '172.160.001.192', gzip: true,
    });
  });

  itSamples('classifies every sample key (public samples)', () => {
    const kinds = [...sampleKeys('aws-docs_s3-key-examples.txt'), ...sampleKeys('loki-lambda-promtail_s3-keys.txt')]
      .map((key) => parseAlbObjectKey(key).kind);
    // the third is AWS's placeholder template (`conn_log.aws-account-id_..._end-time_...`), not a real key
    expect(kinds).toEqual([
      'access-log', 'connection-log', 'other', 'health-check-log', 'access-log', 'access-log', 'access-log', 'control',
      'access-log', 'nlb',
    ]);
  });

  it('reads connection and health-check keys (both conn_log spellings)', () => {
    const underscore = parseAlbObjectKey('AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/05/01/conn_log_123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20220215T2340Z_172.160.001.192_20sg8hgm.log.gz');
    expect(underscore).toMatchObject({ kind: 'connection-log', accountId: '123456789012', region: 'us-east-2', nodeIp: '172.160.001.192' });
    expect(parseAlbObjectKey('x/conn_log.123456789012_elasticloadbalancing_eu-west-1_app.a.b1_20220215T2340Z_10.0.0.1_r.log.gz').kind).toBe('connection-log');
    expect(parseAlbObjectKey('x/health_check_log_123456789012_elasticloadbalancing_eu-west-1_app.a.b1_20220215T2340Z_10.0.0.1_r.log.gz').kind).toBe('health-check-log');
  });

  it('reads an NLB key without a node ip', () => {
    expect(parseAlbObjectKey('my-bucket/prefix/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2016/05/01/123456789012_elasticloadbalancing_us-east-2_net.my-loadbalancer.1234567890abcdef_201605010000Z_2soosksi.log.gz'))
      .toEqual({
        kind: 'nlb', reason: 'Network Load Balancer log', accountId: '123456789012', region: 'us-east-2',
        loadBalancer: 'net/my-loadbalancer/1234567890abcdef', date: '2016-05-01', endTime: '2016-05-01T00:00:00Z', gzip: true,
      });
  });

  it('keeps dots and dashes in load balancer names and notes uncompressed files', () => {
    const key = parseAlbObjectKey('961341511681_elasticloadbalancing_us-east-1_app.MyALB1.240dbdc5244653c9_20250301T1005Z_44.218.101.212_16w3taku.log');
    expect(key).toMatchObject({ kind: 'access-log', loadBalancer: 'app/MyALB1/240dbdc5244653c9', gzip: false, nodeIp: '44.218.101.212' });
    expect(key.date).toBeUndefined();
  });

  it('recognises control, classic ELB and unrelated objects', () => {
    expect(parseAlbObjectKey('ALB/AWSLogs/166157441623/ELBAccessLogTestFile').kind).toBe('control');
    expect(parseAlbObjectKey('AWSLogs/123456789012/elasticloadbalancing/us-east-1/2020/01/01/123456789012_elasticloadbalancing_us-east-1_my-clb_20200101T0000Z_10.0.0.1_abc123.log'))
      .toMatchObject({ kind: 'other', reason: 'Classic Load Balancer log file', date: '2020-01-01' });
    expect(parseAlbObjectKey('some/other/file.txt')).toEqual({ kind: 'other', reason: 'not an Elastic Load Balancing log file name', gzip: false });
    expect(parseAlbObjectKey('')).toMatchObject({ kind: 'other' });
  });
});
