// The progress of backfill runs, in the stack's backfill table (DynamoDB, partition key `run`, sort
// key `object`): one item per run (under run `#runs`: its source, days, when it was queued) and one
// per object of a run (`s3://bucket/key`: queued, done with its counts, or failed with the reason).
// The CLI writes the queued items and reads the status; the worker marks objects done or failed.
// Totals are summed from the object items when asked (no counters that a redelivery could count
// twice): a done object stays done, whatever arrives later.
import {
  BatchGetItemCommand, ConditionalCheckFailedException, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand,
  type AttributeValue, type BatchGetItemCommandOutput, type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

export const RUN_KEY = 'run';
export const OBJECT_KEY = 'object';
/** Partition of the run items. */
const RUNS = '#runs';

export type ObjectStatus = 'queued' | 'done' | 'failed';

export interface RunInfo {
  run: string;
  source: string;
  from?: string;
  to?: string;
  /** Epoch ms the run was first queued. */
  createdAt: number;
}

/** What the worker counted for one object. */
export interface ObjectCounts {
  lines: number;
  indexed: number;
  /** Parser rejects, refused documents and over-long lines: each in the backup bucket with its reason. */
  failedLines: number;
  skipped: number;
  outOfRange: number;
  /**
   * Of `lines`, lines an interrupted attempt had indexed and checkpointed: the attempt that finished
   * resumed after them, so their documents and failures are not in the counts above.
   */
  resumedLines: number;
}

export interface RunStatus extends RunInfo {
  objects: number;
  queued: number;
  done: number;
  failed: { object: string; reason: string }[];
  /** Objects done that had been loaded before (by the live pipeline, or before a crash): counted without documents. */
  alreadyLoaded: number;
  bytes: number;
  bytesDone: number;
  /** Compressed bytes of the objects still queued. */
  bytesQueued: number;
  lines: number;
  indexed: number;
  failedLines: number;
  outOfRange: number;
  /** Lines of objects that resumed after an interruption, indexed but not in `indexed` or `failedLines` (ObjectCounts.resumedLines). */
  resumedLines: number;
  /** Epoch ms of the last object done. */
  lastDoneAt?: number;
  /** Objects whose last attempt failed and which wait for a retry, with that reason. */
  retrying: { object: string; reason: string; attempts: number }[];
}

type Item = Record<string, AttributeValue>;
const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });
const num = (item: Item, name: string): number => Number(item[name]?.N ?? 0);
const str = (item: Item, name: string): string | undefined => item[name]?.S;

export class BackfillProgressStore {
  constructor(private readonly client: DynamoDBClient, readonly tableName: string) {}

  /** Records the run (once; a repeated run keeps its first creation time). */
  async startRun(info: RunInfo): Promise<RunInfo> {
    try {
      await this.client.send(new PutItemCommand({
        TableName: this.tableName,
        Item: {
          [RUN_KEY]: S(RUNS), [OBJECT_KEY]: S(info.run), source: S(info.source), createdAt: N(info.createdAt),
          ...(info.from ? { from: S(info.from) } : {}), ...(info.to ? { to: S(info.to) } : {}),
        },
        ConditionExpression: 'attribute_not_exists(#run)',
        ExpressionAttributeNames: { '#run': RUN_KEY },
      }));
      return info;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return (await this.run(info.run))!;
    }
  }

  async run(run: string): Promise<RunInfo | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { [RUN_KEY]: S(RUNS), [OBJECT_KEY]: S(run) }, ConsistentRead: true }));
    return out.Item === undefined ? undefined : runInfo(out.Item);
  }

  /** Every run, oldest first. */
  async runs(): Promise<RunInfo[]> {
    const items = await this.query(RUNS);
    return items.map(runInfo).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** The objects of `objects` a run has not queued yet, or whose earlier attempt failed for good. */
  async toQueue(run: string, objects: readonly string[]): Promise<string[]> {
    const known = new Map<string, ObjectStatus>();
    for (let i = 0; i < objects.length; i += 100) {
      let keys: Item[] | undefined = objects.slice(i, i + 100).map((object) => ({ [RUN_KEY]: S(run), [OBJECT_KEY]: S(object) }));
      for (let attempt = 0; keys !== undefined && keys.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 50 * 2 ** attempt)));
        const out: BatchGetItemCommandOutput = await this.client.send(new BatchGetItemCommand({
          RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true, ProjectionExpression: '#o, #s', ExpressionAttributeNames: { '#o': OBJECT_KEY, '#s': 'status' } } },
        }));
        for (const item of out.Responses?.[this.tableName] ?? []) known.set(str(item, OBJECT_KEY)!, str(item, 'status') as ObjectStatus);
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return objects.filter((object) => known.get(object) === undefined || known.get(object) === 'failed');
  }

  /** An object was put on the queue (unless the worker finished it meanwhile). */
  async markQueued(run: string, object: string, size: number, now = Date.now()): Promise<void> {
    try {
      await this.client.send(new PutItemCommand({
        TableName: this.tableName,
        Item: { [RUN_KEY]: S(run), [OBJECT_KEY]: S(object), status: S('queued'), size: N(size), queuedAt: N(now) },
        ConditionExpression: 'attribute_not_exists(#s) OR #s <> :done',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':done': S('done') },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** The worker finished an object; `counts` undefined = it had been loaded before (nothing indexed now). First done wins. */
  async markDone(run: string, object: string, size: number, counts: ObjectCounts | undefined, now = Date.now()): Promise<void> {
    // Every attribute by placeholder: several names (size among them) are DynamoDB reserved words.
    const fields: Record<string, AttributeValue> = { status: S('done'), doneAt: N(now), size: N(size) };
    if (counts === undefined) fields['alreadyLoaded'] = { BOOL: true };
    else for (const [name, value] of Object.entries(counts)) fields[name] = N(value);
    const names: Record<string, string> = { '#s': 'status', '#e': 'lastError' };
    const values: Item = { ':done': S('done') };
    const set = Object.entries(fields).map(([name, value], i) => {
      names[`#f${i}`] = name;
      values[`:f${i}`] = value;
      return `#f${i} = :f${i}`;
    }).join(', ');
    try {
      await this.client.send(new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [RUN_KEY]: S(run), [OBJECT_KEY]: S(object) },
        UpdateExpression: `SET ${set} REMOVE #e`,
        ConditionExpression: 'attribute_not_exists(#s) OR #s <> :done',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** An attempt failed: the reason is kept; `final` (the last receive before the DLQ) marks the object failed. */
  async markAttemptFailed(run: string, object: string, reason: string, final: boolean): Promise<void> {
    try {
      await this.client.send(new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [RUN_KEY]: S(run), [OBJECT_KEY]: S(object) },
        UpdateExpression: `SET #e = :reason${final ? ', #s = :failed' : ''} ADD #a :one`,
        ConditionExpression: 'attribute_not_exists(#s) OR #s <> :done',
        ExpressionAttributeNames: { '#s': 'status', '#e': 'lastError', '#a': 'attempts' },
        ExpressionAttributeValues: { ':reason': S(reason.slice(0, 1000)), ':one': N(1), ':done': S('done'), ...(final ? { ':failed': S('failed') } : {}) },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** The run's totals, summed over its object items. */
  async status(run: string): Promise<RunStatus | undefined> {
    const info = await this.run(run);
    if (info === undefined) return undefined;
    const status: RunStatus = {
      ...info, objects: 0, queued: 0, done: 0, failed: [], alreadyLoaded: 0, bytes: 0, bytesDone: 0, bytesQueued: 0,
      lines: 0, indexed: 0, failedLines: 0, outOfRange: 0, resumedLines: 0, retrying: [],
    };
    for (const item of await this.query(run)) {
      const object = str(item, OBJECT_KEY)!;
      const size = num(item, 'size');
      status.objects++;
      status.bytes += size;
      const state = str(item, 'status') as ObjectStatus;
      if (state === 'done') {
        status.done++;
        status.bytesDone += size;
        if (item['alreadyLoaded']?.BOOL) status.alreadyLoaded++;
        status.lines += num(item, 'lines');
        status.indexed += num(item, 'indexed');
        status.failedLines += num(item, 'failedLines');
        status.outOfRange += num(item, 'outOfRange');
        status.resumedLines += num(item, 'resumedLines');
        status.lastDoneAt = Math.max(status.lastDoneAt ?? 0, num(item, 'doneAt'));
      } else if (state === 'failed') {
        status.failed.push({ object, reason: str(item, 'lastError') ?? 'unknown' });
      } else {
        status.queued++;
        status.bytesQueued += size;
        const reason = str(item, 'lastError');
        if (reason !== undefined) status.retrying.push({ object, reason, attempts: num(item, 'attempts') });
      }
    }
    return status;
  }

  private async query(partition: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.client.send(new QueryCommand({
        TableName: this.tableName, KeyConditionExpression: '#run = :run', ExpressionAttributeNames: { '#run': RUN_KEY },
        ExpressionAttributeValues: { ':run': S(partition) }, ExclusiveStartKey: start, ConsistentRead: true,
      }));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }
}

function runInfo(item: Item): RunInfo {
  const from = str(item, 'from');
  const to = str(item, 'to');
  return { run: str(item, OBJECT_KEY)!, source: str(item, 'source') ?? '', createdAt: num(item, 'createdAt'), ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

/** Documents per second and the time left, from a run's status at `now`. */
export function runRates(status: RunStatus, now = Date.now()): { documentsPerSecond: number; secondsLeft: number | undefined } {
  const end = status.queued === 0 ? (status.lastDoneAt ?? now) : now;
  const elapsed = Math.max(0.001, (end - status.createdAt) / 1000);
  const documentsPerSecond = status.indexed / elapsed;
  if (status.queued === 0) return { documentsPerSecond, secondsLeft: 0 };
  if (status.bytesDone === 0) return { documentsPerSecond, secondsLeft: undefined };
  return { documentsPerSecond, secondsLeft: status.bytesQueued / (status.bytesDone / elapsed) };
}
