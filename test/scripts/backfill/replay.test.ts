// The replay of Firehose's delivery-failure backup against the real engine and the local S3
// stand-in (s3rver) through the real S3 client: documents go back under the index and id Firehose
// used, a run while writes are blocked does nothing, replayed objects move aside, refused
// documents stay with their reason, and a second run adds nothing.
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderBackupStore, s3BackupStore } from '../../../scripts/backfill/backup-store.ts';
import { DELIVERY_FAILED_PREFIX, replayDeliveryFailures, replayedKey } from '../../../scripts/backfill/replay.ts';
import { countDocuments, countDuplicates, refresh } from '../../../scripts/local/report.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3, type LocalS3 } from '../../../scripts/local/s3-server.ts';
import { installTemplates } from '../../../templates/install.ts';
import { parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';
import { CORPUS_FILES, corpusAccessLines, corpusLines } from '../../corpus.ts';
import { LOG_TYPE_SPECS } from '../../../transform/log-types.ts';

const client = new Client({ node: process.env.OPENSEARCH_URL! });
const run = `test-replay-${Date.now()}`;
const keyA = `${DELIVERY_FAILED_PREFIX}2026/01/02/03/albatross-1-2026-01-02-03-00-00-a`;
const keyB = `${DELIVERY_FAILED_PREFIX}2026/01/02/03/albatross-1-2026-01-02-03-00-00-b`;
let server: LocalS3;
let s3: S3Client;
let documents: string[];
let scenarios = 0;

/** Firehose's AmazonOpenSearchService-failed record for one document. */
const refusedRecord = (document: string, id: string, indexName: string) =>
  JSON.stringify({ attemptsMade: 12, arrivalTimestamp: 0, errorCode: '429', errorMessage: 'cluster_block_exception: flood-stage watermark', attemptEndingTimestamp: 0, esDocumentId: id, esIndexName: indexName, esTypeName: '', rawData: Buffer.from(document).toString('base64') });
const objectText = (records: string[]) => gzipSync(records.join('\n') + '\n');

/**
 * One test's own world, so tests run in any order: an index prefix with the real templates, a backup
 * bucket holding object A (three refusable documents) and object B (two good, one the mapping refuses,
 * one for another stack's index), and the replay and listing bound to them.
 */
async function scenario() {
  const n = ++scenarios;
  const prefix = `${run}-${n}`;
  const index = `${prefix}-2026-01-02`;      // Firehose's arrival-day index
  const bucket = `albatross-backup-${n}`;
  await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keyA, Body: objectText(documents.slice(0, 3).map((d, i) => refusedRecord(d, `fh-a${i}`, index))) }));
  await s3.send(new PutObjectCommand({
    Bucket: bucket,
    Key: keyB,
    Body: objectText([
      refusedRecord(documents[3]!, 'fh-b0', index),
      // A field the strict mapping does not know: the engine refuses it for good (400).
      refusedRecord('{"@timestamp":"2026-01-02T03:00:00Z","not_a_field":1}', 'fh-b1', index),
      refusedRecord(documents[4]!, 'fh-b2', index),
      // Not this stack's indices: never written.
      refusedRecord(documents[4]!, 'fh-b3', 'other-2026-01-02'),
    ]),
  }));
  const keys = async (under: string): Promise<string[]> => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: under }));
    return (page.Contents ?? []).map((o) => o.Key!).sort();
  };
  const records = async (key: string): Promise<Record<string, any>[]> => {
    const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    return gunzipSync(body).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  };
  const replay = () => replayDeliveryFailures({ client, store: s3BackupStore(s3, bucket), indexPrefix: prefix, retryWindowMs: 2_000, now: () => new Date('2026-01-02T04:00:00Z') });
  return { prefix, index, bucket, keys, records, replay };
}

describe('replayDeliveryFailures', () => {
  beforeAll(async () => {
    server = await startLocalS3({ buckets: [] });
    s3 = new S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
    documents = corpusAccessLines().slice(0, 5).map((line, i) => {
      const parsed = parseAlbLineToJson(line, { source: { bucket: 'alb-logs', key: 'AWSLogs/x.log.gz', offset: i * 1000 } });
      if (parsed.kind !== 'document') throw new Error('corpus line did not parse');
      return parsed.json;
    });
  });

  afterAll(async () => {
    s3?.destroy();
    await server?.stop();
    for (let n = 1; n <= scenarios; n++) await removeIndicesAndTemplates(client, `${run}-${n}`);
    await client.close();
  });

  it('does nothing while writes to the indices are blocked', async () => {
    const { prefix, index, keys, replay } = await scenario();
    await client.indices.create({ index });
    await client.indices.putSettings({ index: `${prefix}-*`, body: { 'index.blocks.read_only_allow_delete': true } });
    try {
      const summary = await replay();
      expect(summary.skipped).toMatch(new RegExp(`writes blocked \\(${index}: disk usage exceeded flood-stage watermark`));
      expect(summary).toMatchObject({ objects: 0, documentsReplayed: 0 });
      expect(await keys(DELIVERY_FAILED_PREFIX)).toEqual([keyA, keyB]);
    } finally {
      await client.indices.putSettings({ index: `${prefix}-*`, body: { 'index.blocks.read_only_allow_delete': null } });
    }
  });

  it('replays under the original index and id, moves replayed objects aside and keeps refused documents with their reason', async () => {
    const { prefix, index, keys, records, replay } = await scenario();
    const original = await records(keyA);
    const summary = await replay();
    expect(summary).toMatchObject({ objects: 2, objectsReplayed: 1, objectsPartial: 1, objectsFailed: [], documentsReplayed: 5, documentsFailed: 2 });
    expect(summary.skipped).toBeUndefined();
    await refresh(client, `${prefix}-*`);
    for (const [i, id] of ['fh-a0', 'fh-a1', 'fh-a2', 'fh-b0', 'fh-b2'].entries()) {
      expect((await client.get({ index, id })).body._source).toEqual(JSON.parse(documents[i]!));
    }
    // A: all replayed, moved as it was. B: the two replayed records aside, the two refused ones kept.
    expect(await keys(DELIVERY_FAILED_PREFIX)).toEqual([keyB]);
    expect(await records(replayedKey(keyA))).toEqual(original);
    const partial = replayedKey(keyB, '.partial-20260102T040000000Z');
    expect(await keys('errors/replayed/')).toEqual([replayedKey(keyA), partial]);
    expect((await records(partial)).map((r) => r.esDocumentId)).toEqual(['fh-b0', 'fh-b2']);
    const kept = await records(keyB);
    expect(kept.map((r) => r.esDocumentId)).toEqual(['fh-b1', 'fh-b3']);
    expect(kept[0]).toMatchObject({ errorMessage: 'cluster_block_exception: flood-stage watermark', replayAttempts: 1, replayErrorMessage: expect.stringContaining('not indexed: 400 strict_dynamic_mapping_exception') });
    expect(kept[1]).toMatchObject({ replayAttempts: 1, replayErrorMessage: expect.stringMatching(new RegExp(`^document for index other-2026-01-02, outside --prefix ${prefix}`)) });
  });

  it('a second run adds nothing and replays nothing twice', async () => {
    const { prefix, records, replay } = await scenario();
    expect(await replay()).toMatchObject({ documentsReplayed: 5 });
    const summary = await replay();
    expect(summary).toMatchObject({ objects: 1, objectsReplayed: 0, objectsPartial: 1, documentsReplayed: 0, documentsFailed: 2 });
    expect((await records(keyB)).map((r) => r.replayAttempts)).toEqual([2, 2]);
    await refresh(client, `${prefix}-*`);
    expect(await countDocuments(client, `${prefix}-*`)).toBe(5);
  });

  it('replaying the same records again (a crash before the move) overwrites, never duplicates', async () => {
    const { prefix, index, bucket, replay } = await scenario();
    expect(await replay()).toMatchObject({ documentsReplayed: 5 });
    const again = `${DELIVERY_FAILED_PREFIX}2026/01/02/05/again`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: again, Body: objectText(documents.slice(0, 3).map((d, i) => refusedRecord(d, `fh-a${i}`, index))) }));
    const summary = await replay();
    expect(summary).toMatchObject({ objectsReplayed: 1, documentsReplayed: 3 });
    await refresh(client, `${prefix}-*`);
    expect(await countDocuments(client, `${prefix}-*`)).toBe(5);
    expect(await countDuplicates(client, `${prefix}-*`)).toBe(0);
  });

  it('fails the run when it cannot move an object aside, and leaves the object where it is', async () => {
    const { prefix, index } = await scenario();
    const folder = await mkdtemp(path.join(tmpdir(), 'albatross-replay-'));
    const store = folderBackupStore(folder);
    const key = `${DELIVERY_FAILED_PREFIX}2026/01/02/07/stuck`;
    await store.put(key, objectText([refusedRecord(documents[1]!, 'fh-stuck', index)]));
    // A file where the errors/replayed/ folder has to be: the move fails for real.
    await mkdir(path.join(folder, 'errors'), { recursive: true });
    await writeFile(path.join(folder, 'errors', 'replayed'), 'not a folder');
    await expect(replayDeliveryFailures({ client, store, indexPrefix: prefix })).rejects.toThrow(/ENOTDIR|EEXIST/);
    expect(await readdir(path.join(folder, 'errors', 'AmazonOpenSearchService-failed', '2026', '01', '02', '07'))).toEqual(['stuck']);
  });

  it('works the same on a local backup folder (the demo)', async () => {
    const { prefix, index } = await scenario();
    const folder = await mkdtemp(path.join(tmpdir(), 'albatross-replay-'));
    const store = folderBackupStore(folder);
    await store.put(`${DELIVERY_FAILED_PREFIX}2026/01/02/06/local`, objectText([refusedRecord(documents[0]!, 'fh-local', index)]));
    const summary = await replayDeliveryFailures({ client, store, indexPrefix: prefix });
    expect(summary).toMatchObject({ objects: 1, objectsReplayed: 1, documentsReplayed: 1 });
    expect(await readdir(path.join(folder, 'errors', 'replayed', 'AmazonOpenSearchService-failed', '2026', '01', '02', '06'))).toEqual(['local']);
    expect(await readdir(path.join(folder, 'errors', 'AmazonOpenSearchService-failed', '2026', '01', '02', '06'))).toEqual([]);
    expect((await client.get({ index, id: 'fh-local' })).body._source).toEqual(JSON.parse(documents[0]!));
  });
});

// A connection-log stream's own backup bucket (one per stream in the stack): its records go back into
// the connection index family, and the run waits only for write blocks on that family.
describe('replayDeliveryFailures of a connection-log stream backup', () => {
  // Its own client: the suite above closes the shared one when it ends.
  const client = new Client({ node: process.env.OPENSEARCH_URL! });
  const stamp = Date.now();
  const prefixes = { access: `test-replay-a-${stamp}`, connection: `test-replay-c-${stamp}` };
  const connectionIndex = `${prefixes.connection}-2026-01-02`;
  const CONNECTION_BUCKET = 'albatross-backup-connection';
  const key = `${DELIVERY_FAILED_PREFIX}2026/01/02/03/albatross-connection-1-2026-01-02-03-00-00-a`;
  let connectionServer: LocalS3;
  let connectionS3: S3Client;
  let connectionDocuments: string[];
  const replayConnections = () => replayDeliveryFailures({
    client, store: s3BackupStore(connectionS3, CONNECTION_BUCKET), indexPrefix: prefixes.access,
    indexPrefixes: { connection: prefixes.connection }, logTypes: ['connection'], retryWindowMs: 2_000,
  });
  const connectionKeys = async (under: string) =>
    ((await connectionS3.send(new ListObjectsV2Command({ Bucket: CONNECTION_BUCKET, Prefix: under }))).Contents ?? []).map((o) => o.Key!).sort();

  beforeAll(async () => {
    await installTemplates(client, { logType: 'connection', indexPrefix: prefixes.connection, replicas: 0, log: () => undefined });
    connectionServer = await startLocalS3({ buckets: [CONNECTION_BUCKET] });
    connectionS3 = new S3Client({ endpoint: connectionServer.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
    connectionDocuments = corpusLines(CORPUS_FILES.connection).slice(0, 3).map((line, i) => {
      const parsed = LOG_TYPE_SPECS.connection.parseToJson(line, { source: { bucket: 'alb-logs', key: 'AWSLogs/conn.log.gz', offset: i * 300 } });
      if (parsed.kind !== 'document') throw new Error('corpus connection line did not parse');
      return parsed.json;
    });
    await connectionS3.send(new PutObjectCommand({
      Bucket: CONNECTION_BUCKET, Key: key,
      Body: objectText(connectionDocuments.map((d, i) => refusedRecord(d, `fh-c${i}`, connectionIndex))),
    }));
  });

  afterAll(async () => {
    connectionS3?.destroy();
    await connectionServer?.stop();
    for (const p of Object.values(prefixes)) await removeIndicesAndTemplates(client, p);
    await client.close();
  });

  // One story in one test, so no order between tests matters: blocked, then a block elsewhere only, then replayed.
  it('waits while the connection indices are write-blocked, not for a block on another family, then replays into the connection family under the index and id Firehose used and moves the object aside', async () => {
    await client.indices.create({ index: connectionIndex });
    await client.indices.putSettings({ index: connectionIndex, body: { 'index.blocks.read_only_allow_delete': true } });
    try {
      const summary = await replayConnections();
      expect(summary.skipped).toMatch(new RegExp(`writes blocked \\(${connectionIndex}: `));
      expect(await connectionKeys(DELIVERY_FAILED_PREFIX)).toEqual([key]);
    } finally {
      await client.indices.putSettings({ index: connectionIndex, body: { 'index.blocks.read_only_allow_delete': null } });
    }
    // A blocked access-log index does not hold back the connection stream's replay.
    await client.indices.create({ index: `${prefixes.access}-2026-01-02` });
    await client.indices.putSettings({ index: `${prefixes.access}-2026-01-02`, body: { 'index.blocks.read_only_allow_delete': true } });
    try {
      const summary = await replayConnections();
      expect(summary.skipped).toBeUndefined();
      expect(summary).toMatchObject({ objects: 1, objectsReplayed: 1, objectsPartial: 0, objectsFailed: [], documentsReplayed: 3, documentsFailed: 0 });
      expect(summary.skipped).toBeUndefined();
    } finally {
      await client.indices.putSettings({ index: `${prefixes.access}-2026-01-02`, body: { 'index.blocks.read_only_allow_delete': null } });
    }
    await refresh(client, `${prefixes.connection}-*`);
    for (const [i, id] of ['fh-c0', 'fh-c1', 'fh-c2'].entries()) {
      const stored = await client.get({ index: connectionIndex, id });
      expect(stored.body._source).toEqual(JSON.parse(connectionDocuments[i]!));
    }
    // The connection template's strict mapping applies, not a dynamic one.
    const mapping = (await client.indices.getMapping({ index: connectionIndex })).body[connectionIndex]!.mappings;
    expect(String(mapping.dynamic)).toBe('strict');
    expect(await connectionKeys(DELIVERY_FAILED_PREFIX)).toEqual([]);
    expect(await connectionKeys('errors/replayed/')).toEqual([replayedKey(key)]);
    // A second run finds nothing, and nothing was doubled.
    expect(await replayConnections()).toMatchObject({ objects: 0, documentsReplayed: 0 });
    expect(await countDocuments(client, `${prefixes.connection}-*`)).toBe(3);
    expect(await countDuplicates(client, `${prefixes.connection}-*`)).toBe(0);
  });
});
