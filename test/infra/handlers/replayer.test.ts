// The replayer Lambda's run against the real engine and s3rver (real S3 client): its metrics and its
// log line, a skipped run while writes are blocked, and the stop before the invocation deadline.
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dependenciesFromEnvironment, REPLAY_METRICS, runReplayer, type ReplayerDependencies } from '../../../infra/handlers/replayer.ts';
import { DELIVERY_FAILED_PREFIX } from '../../../scripts/backfill/replay.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3, type LocalS3 } from '../../../scripts/local/s3-server.ts';
import { createLogger, createMetrics, replayerServiceName, SERVICE_NAMES } from '../../../transform/observability.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';

const client = new Client({ node: process.env.OPENSEARCH_URL! });
const run = `test-replayer-${Date.now()}`;
let server: LocalS3;
let s3: S3Client;
let worlds = 0;

const document = (i: number) => JSON.stringify({ '@timestamp': '2026-01-02T03:00:00.000Z', event: { id: `e${i}` }, message: `line ${i}` });

/** One test's own index family and backup bucket, so the tests run in any order. */
async function world() {
  const n = ++worlds;
  const prefix = `${run}-${n}`;
  const index = `${prefix}-2026-01-02`;
  const bucket = `replayer-backup-${n}`;
  // No templates: the replay writes whatever Firehose backed up (test/scripts/backfill/replay.test.ts uses the real ones).
  await client.indices.create({ index });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const record = (i: number) => JSON.stringify({ attemptsMade: 5, errorCode: '429', errorMessage: 'cluster_block_exception', esDocumentId: `fh-${i}`, esIndexName: index, esTypeName: '', rawData: Buffer.from(document(i)).toString('base64') });
  const put = (key: string, records: number[]) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${DELIVERY_FAILED_PREFIX}${key}`, Body: gzipSync(records.map(record).join('\n') + '\n') }));
  return { prefix, index, bucket, put };
}

/** Runs one replayer invocation, returning its summary and the JSON lines (log, EMF metrics) it printed. */
async function invoke({ bucket, prefix }: { bucket: string; prefix: string }, remainingMs?: number, overrides: Partial<ReplayerDependencies> = {}) {
  const printed: string[] = [];
  const capture = (chunk: string | Uint8Array): boolean => {
    printed.push(chunk.toString());
    return true;
  };
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    const deps = { client, s3, bucket, indexPrefix: prefix, logger: createLogger(SERVICE_NAMES.replayer), metrics: createMetrics(SERVICE_NAMES.replayer), ...overrides };
    const summary = await runReplayer(deps, remainingMs === undefined ? undefined : { getRemainingTimeInMillis: () => remainingMs });
    const lines = printed.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    return { summary, lines, metrics: lines.find((l) => l._aws)!, log: lines.find((l) => !l._aws)! };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

describe('runReplayer', () => {
  beforeAll(async () => {
    server = await startLocalS3({ buckets: [] });
    s3 = new S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
  });
  afterAll(async () => {
    s3?.destroy();
    await server?.stop();
    for (let n = 1; n <= worlds; n++) await removeIndicesAndTemplates(client, `${run}-${n}`);
    await client.close();
  });

  it('skips while writes are blocked, and says so in its metrics and log', async () => {
    const w = await world();
    const { index } = w;
    await w.put('2026/01/02/03/a', [0, 1, 2]);
    await client.indices.putSettings({ index, body: { 'index.blocks.read_only_allow_delete': true } });
    try {
      const { summary, metrics, log } = await invoke(w);
      expect(summary.skipped).toMatch(/writes blocked/);
      expect(metrics).toMatchObject({ service: SERVICE_NAMES.replayer, [REPLAY_METRICS.runsSkipped]: 1, [REPLAY_METRICS.documentsReplayed]: 0 });
      expect(log).toMatchObject({ level: 'INFO', message: 'replay skipped: the domain does not take writes', service: SERVICE_NAMES.replayer });
    } finally {
      await client.indices.putSettings({ index, body: { 'index.blocks.read_only_allow_delete': null } });
    }
  });

  it('replays and publishes what it did', async () => {
    const w = await world();
    await w.put('2026/01/02/03/a', [0, 1, 2]);
    const { summary, metrics, log } = await invoke(w, 300_000);
    expect(summary).toMatchObject({ objects: 1, objectsReplayed: 1, documentsReplayed: 3, documentsFailed: 0 });
    expect(metrics).toMatchObject({
      [REPLAY_METRICS.runsSkipped]: 0, [REPLAY_METRICS.objectsReplayed]: 1, [REPLAY_METRICS.objectsPartial]: 0,
      [REPLAY_METRICS.objectsFailed]: 0, [REPLAY_METRICS.documentsReplayed]: 3, [REPLAY_METRICS.documentsFailed]: 0,
    });
    expect(metrics._aws.CloudWatchMetrics[0].Namespace).toBe('Albatross');
    expect(log).toMatchObject({ level: 'INFO', message: 'replay run', documentsReplayed: 3 });
    expect((await client.get({ index: w.index, id: 'fh-1' })).body._source).toEqual(JSON.parse(document(1)));
  });

  it('starts nothing when the invocation is already at its deadline margin', async () => {
    const w = await world();
    await w.put('2026/01/02/04/b', [7]);
    const { summary } = await invoke(w, 30_000);    // less than the 60 s margin
    expect(summary).toMatchObject({ objects: 1, objectsReplayed: 0, documentsReplayed: 0, stopped: 'the run reached its deadline' });
  });

  it('a connection stream\'s replayer: its own service name and index family, and for a document outside the stack\'s prefixes it says what an operator does (no CLI flags)', async () => {
    const w = await world();
    const { prefix, bucket: BUCKET } = w;
    const connectionPrefix = `${prefix}-conn`;
    const connectionIndex = `${connectionPrefix}-2026-01-02`;
    await client.indices.create({ index: connectionIndex });
    const connectionRecord = (id: string, indexName: string) => JSON.stringify({
      attemptsMade: 5, errorCode: '429', errorMessage: 'cluster_block_exception', esDocumentId: id, esIndexName: indexName, esTypeName: '', rawData: Buffer.from(document(9)).toString('base64'),
    });
    const key = `${DELIVERY_FAILED_PREFIX}2026/01/02/05/connection`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: gzipSync([connectionRecord('fh-c1', connectionIndex), connectionRecord('fh-x1', 'renamed-2026-01-02')].join('\n') + '\n') }));
    // As the stack configures the connection stream's replayer (infra/constructs/replayer.ts).
    const fromEnvironment = dependenciesFromEnvironment({
      ALBATROSS_OPENSEARCH_ENDPOINT: 'search-x.eu-west-1.es.amazonaws.com', AWS_REGION: 'eu-west-1', ALBATROSS_BACKUP_BUCKET: BUCKET,
      ALBATROSS_INDEX_PREFIX: prefix, ALBATROSS_CONNECTION_INDEX_PREFIX: connectionPrefix, ALBATROSS_HEALTH_INDEX_PREFIX: `${prefix}-health`,
      ALBATROSS_LOG_TYPES: 'connection', ALBATROSS_LOG_TYPE: 'connection',
    });
    expect(fromEnvironment).toMatchObject({ bucket: BUCKET, indexPrefix: prefix, indexPrefixes: { connection: connectionPrefix, health: `${prefix}-health` }, logTypes: ['connection'] });
    const service = replayerServiceName('connection');
    expect(service).toBe('albatross-replayer-connection');
    const { summary, metrics } = await invoke(w, 300_000, {
      indexPrefixes: fromEnvironment.indexPrefixes!, logTypes: fromEnvironment.logTypes!, logger: createLogger(service), metrics: createMetrics(service),
    });
    expect(summary).toMatchObject({ objects: 1, objectsReplayed: 0, objectsPartial: 1, documentsReplayed: 1, documentsFailed: 1 });
    expect(metrics).toMatchObject({ service: 'albatross-replayer-connection', [REPLAY_METRICS.documentsFailed]: 1 });
    expect((await client.get({ index: connectionIndex, id: 'fh-c1' })).body._source).toEqual(JSON.parse(document(9)));
    const kept = gunzipSync(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray())).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(kept).toHaveLength(1);
    expect(kept[0].replayErrorMessage).toBe(
      `document for index renamed-2026-01-02, outside this stack's index prefixes (indexPrefix ${prefix}, connectionIndexPrefix ${connectionPrefix}, healthIndexPrefix ${prefix}-health); ` +
      'the replayer leaves it here: if it belongs to an earlier prefix, index it from a workstation (albatross backfill --firehose-errors with that prefix), otherwise delete this record');
    expect(kept[0].replayErrorMessage).not.toMatch(/--prefix|--connection-prefix|--health-prefix/);
  });
});
