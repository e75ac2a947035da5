// One contract, three stores. The DynamoDB store runs against dynalite (a DynamoDB implementation
// speaking the real wire protocol, with conditional writes) through the real @aws-sdk/client-dynamodb.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointConflictError, DynamoDbCheckpointStore, FileCheckpointStore, MemoryCheckpointStore,
  type Checkpoint, type CheckpointStore,
} from '../../../transform/loader/checkpoint.ts';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../dynamodb-local.ts';

let clock = 1_000_000;
const now = (): number => clock;

let dynamodb: LocalDynamoDb;
let tableCount = 0;
beforeAll(async () => {
  dynamodb = await startLocalDynamoDb();
});
afterAll(async () => {
  await dynamodb.stop();
});

const stores: Array<[string, () => Promise<CheckpointStore>]> = [
  ['memory', async () => new MemoryCheckpointStore(now)],
  ['file', async () => new FileCheckpointStore(await mkdtemp(path.join(os.tmpdir(), 'checkpoints-')), now)],
  ['DynamoDB (dynalite)', async () => {
    const table = `checkpoints-${++tableCount}`;
    await dynamodb.createCheckpointTable(table);
    return new DynamoDbCheckpointStore(dynamodb.client, table, { now });
  }],
];

const object = { bucket: 'alb-logs', key: 'AWSLogs/1/elasticloadbalancing/x y#z.log.gz', etag: '0123abcd' };
const progress: Checkpoint = { lines: 500, bytes: 300_000, accepted: [[700, 900], [1000, 1200]], done: false };

describe.each(stores)('%s checkpoint store', (_name, create) => {
  it('starts empty, keeps committed progress, and returns a done checkpoint without a lease', async () => {
    const store = await create();
    expect(await store.claim(object, 'a', clock + 1000)).toEqual({ lines: 0, bytes: 0, accepted: [], done: false });
    await store.commit(object, 'a', progress);
    await store.commit(object, 'a', progress, { release: true });
    expect(await store.claim(object, 'b', clock + 1000)).toEqual(progress);
    await store.commit(object, 'b', { lines: 2000, bytes: 1_200_000, accepted: [], done: true }, { release: true });
    expect(await store.claim(object, 'c', clock + 1000)).toEqual({ lines: 2000, bytes: 1_200_000, accepted: [], done: true });
    // Another version of the same key is a different object.
    expect((await store.claim({ ...object, etag: 'ffff' }, 'c', clock + 1000)).done).toBe(false);
  });

  it('refuses a second owner while the lease runs and hands over once it expired', async () => {
    const store = await create();
    await store.claim(object, 'a', clock + 1000);
    await store.commit(object, 'a', progress);
    await expect(store.claim(object, 'b', clock + 1000)).rejects.toBeInstanceOf(CheckpointConflictError);
    // The error says when the lease ends, so the loader can retry after it.
    await expect(store.claim(object, 'b', clock + 1000)).rejects.toMatchObject({ leaseUntil: clock + 1000 });
    clock += 1001;
    expect(await store.claim(object, 'b', clock + 1000)).toEqual(progress);
    // The old owner lost the object: its commits are refused.
    await expect(store.commit(object, 'a', { ...progress, lines: 600 })).rejects.toBeInstanceOf(CheckpointConflictError);
  });

  it('never moves backwards', async () => {
    const store = await create();
    await store.claim(object, 'a', clock + 1000);
    await store.commit(object, 'a', progress);
    await expect(store.commit(object, 'a', { ...progress, lines: 499 })).rejects.toBeInstanceOf(CheckpointConflictError);
    await store.commit(object, 'a', progress, { release: true });
    expect(await store.claim(object, 'b', clock + 1000)).toEqual(progress);
  });

  it('lets one of two racing claims win', async () => {
    const store = await create();
    const results = await Promise.allSettled([store.claim(object, 'a', clock + 1000), store.claim(object, 'b', clock + 1000)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});
