// The backfill run progress store against a DynamoDB wire-protocol emulator (dynalite) through the
// real DynamoDB client: what is queued again, first-done-wins, failures with reasons, the sums
// `--status` shows, and the rates.
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackfillProgressStore, runRates } from '../../../transform/backfill/progress.ts';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../dynamodb-local.ts';

let dynamodb: LocalDynamoDb;
let store: BackfillProgressStore;
const counts = (indexed: number, resumedLines = 0) => ({ lines: indexed + 2 + resumedLines, indexed, failedLines: 1, skipped: 1, outOfRange: 0, resumedLines });

beforeAll(async () => {
  dynamodb = await startLocalDynamoDb();
  await dynamodb.client.send(new CreateTableCommand({
    TableName: 'progress', BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'run', AttributeType: 'S' }, { AttributeName: 'object', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'run', KeyType: 'HASH' }, { AttributeName: 'object', KeyType: 'RANGE' }],
  }));
  store = new BackfillProgressStore(dynamodb.client, 'progress');
});
afterAll(async () => { await dynamodb.stop(); });

describe('BackfillProgressStore', () => {
  it('keeps a run\'s first creation time, queues only what is new or failed, and sums the objects', async () => {
    const run = 'run-a';
    expect(await store.startRun({ run, source: 's3://b/', from: '2026-01-01', createdAt: 1_000 })).toMatchObject({ createdAt: 1_000 });
    expect(await store.startRun({ run, source: 's3://b/', from: '2026-01-01', createdAt: 9_000 })).toMatchObject({ createdAt: 1_000, from: '2026-01-01' });
    const objects = Array.from({ length: 130 }, (_, i) => `s3://b/o${i}`); // more than one BatchGetItem of 100
    expect(await store.toQueue(run, objects)).toEqual(objects);
    for (const object of objects.slice(0, 4)) await store.markQueued(run, object, 100, 2_000);
    expect(await store.toQueue(run, objects)).toEqual(objects.slice(4));

    await store.markDone(run, objects[0]!, 100, counts(10), 11_000);
    // A redelivered object done again changes nothing: the first done wins (no double counting).
    await store.markDone(run, objects[0]!, 100, counts(99), 12_000);
    await store.markDone(run, objects[1]!, 100, undefined, 11_000); // loaded before: no documents
    await store.markQueued(run, objects[4]!, 100, 2_000);
    // Resumed after an interruption: its 7 checkpointed lines are in `lines`, and summed apart.
    await store.markDone(run, objects[4]!, 100, counts(5, 7), 11_000);
    // Queueing again after the worker finished does not reset it.
    await store.markQueued(run, objects[1]!, 100, 13_000);
    await store.markAttemptFailed(run, objects[2]!, 'BulkGaveUpError: 429', false);
    await store.markAttemptFailed(run, objects[3]!, 'first', false);
    await store.markAttemptFailed(run, objects[3]!, 'NoSuchKey: gone', true);
    // A failure reported after done (a late duplicate delivery) does not undo it.
    await store.markAttemptFailed(run, objects[0]!, 'late', true);

    const status = (await store.status(run))!;
    expect(status).toMatchObject({
      objects: 5, done: 3, queued: 1, alreadyLoaded: 1, indexed: 15, lines: 26, failedLines: 2, resumedLines: 7, bytes: 500, bytesDone: 300, bytesQueued: 100, lastDoneAt: 11_000,
      failed: [{ object: objects[3], reason: 'NoSuchKey: gone' }],
      retrying: [{ object: objects[2], reason: 'BulkGaveUpError: 429', attempts: 1 }],
    });
    // A failed object is queued again; done and waiting ones are not.
    expect(await store.toQueue(run, objects.slice(0, 4))).toEqual([objects[3]]);
    // Rates: 15 documents in 10 s; 100 bytes left at 300 bytes per 10 s.
    expect(runRates(status, 11_000)).toEqual({ documentsPerSecond: 1.5, secondsLeft: 10 / 3 });
    expect((await store.runs()).map((r) => r.run)).toContain(run);
    expect(await store.status('no-such-run')).toBeUndefined();
  });

  it('reports a finished run with no time left and its rate up to its last object', async () => {
    const run = 'run-b';
    await store.startRun({ run, source: 's3://b/', createdAt: 0 });
    await store.markQueued(run, 's3://b/x', 10, 0);
    await store.markDone(run, 's3://b/x', 10, counts(500), 5_000);
    const status = (await store.status(run))!;
    expect(runRates(status, 60_000)).toEqual({ documentsPerSecond: 100, secondsLeft: 0 });
  });
});
