// Per-object checkpoints: which lines of one object version (bucket + key + ETag) Firehose has
// accepted, so a redelivered or retried SQS message resends nothing already accepted.
//
// A checkpoint is a contiguous prefix (`lines` / `bytes`) plus the line ranges accepted beyond it
// (`accepted`, bounded by the loader's in-flight window). A lease (owner + leaseUntil) keeps two
// invocations from loading the same object at once; every commit is conditional on still owning it.
import { randomUUID, createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

export interface ObjectVersion { bucket: string; key: string; etag: string }

/** Line ranges [start, end) of 0-based line numbers. */
export type LineRanges = Array<[number, number]>;

export interface Checkpoint {
  /** Lines 0..lines-1 are handled (accepted by Firehose, empty, or recorded as failures). */
  lines: number;
  /** Uncompressed byte offset where line `lines` starts. */
  bytes: number;
  /** Lines beyond the prefix that Firehose already accepted, sorted and disjoint. */
  accepted: LineRanges;
  /** The whole object is handled. */
  done: boolean;
}

export const EMPTY_CHECKPOINT: Checkpoint = Object.freeze({ lines: 0, bytes: 0, accepted: [], done: false }) as Checkpoint;

/** Another invocation holds the object's lease, or this one lost it. */
export class CheckpointConflictError extends Error {
  override readonly name = 'CheckpointConflictError';
  /** When another invocation holds the lease: its end (epoch ms), so a retry can wait for it. */
  readonly leaseUntil?: number;
  constructor(message: string, options?: { leaseUntil?: number }) {
    super(message);
    if (options?.leaseUntil !== undefined) this.leaseUntil = options.leaseUntil;
  }
}

export interface CheckpointStore {
  /**
   * Takes the lease on `object` until `leaseUntil` (epoch ms) and returns its checkpoint. A done
   * checkpoint is returned without taking the lease. Throws CheckpointConflictError while another
   * owner's lease runs.
   */
  claim(object: ObjectVersion, owner: string, leaseUntil: number): Promise<Checkpoint>;
  /**
   * Records progress; `release` ends the lease. Throws CheckpointConflictError if `owner` no longer
   * holds the lease or the checkpoint would move backwards.
   */
  commit(object: ObjectVersion, owner: string, checkpoint: Checkpoint, options?: { release?: boolean }): Promise<void>;
}

export function newOwnerId(): string {
  return randomUUID();
}

/** Stable identifier of an object version; bucket names cannot contain '/', ETags cannot contain '#'. */
export function checkpointId(object: ObjectVersion): string {
  return `${object.bucket}/${object.key}#${object.etag}`;
}

interface StoredCheckpoint extends Checkpoint { owner?: string; leaseUntil: number }

function decideClaim(stored: StoredCheckpoint | undefined, owner: string, leaseUntil: number, now: number):
  { checkpoint: Checkpoint; next?: StoredCheckpoint } {
  if (stored?.done) return { checkpoint: toCheckpoint(stored) };
  if (stored?.owner !== undefined && stored.owner !== owner && stored.leaseUntil > now) {
    throw new CheckpointConflictError(
      `object is being loaded by another invocation (lease until ${new Date(stored.leaseUntil).toISOString()})`, { leaseUntil: stored.leaseUntil });
  }
  const base = stored ?? { ...EMPTY_CHECKPOINT, leaseUntil: 0 };
  return { checkpoint: toCheckpoint(base), next: { ...toCheckpoint(base), owner, leaseUntil } };
}

function decideCommit(stored: StoredCheckpoint | undefined, owner: string, checkpoint: Checkpoint, release: boolean): StoredCheckpoint {
  if (stored?.owner !== owner) throw new CheckpointConflictError('lease lost: another invocation took over the object');
  if (checkpoint.lines < stored.lines) throw new CheckpointConflictError('checkpoint would move backwards');
  return release ? { ...toCheckpoint(checkpoint), leaseUntil: 0 } : { ...toCheckpoint(checkpoint), owner, leaseUntil: stored.leaseUntil };
}

function toCheckpoint(c: Checkpoint): Checkpoint {
  return { lines: c.lines, bytes: c.bytes, accepted: c.accepted.map(([s, e]) => [s, e]), done: c.done };
}

/** In-process store for tests and single-process local runs. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly items = new Map<string, StoredCheckpoint>();
  constructor(private readonly now: () => number = Date.now) {}

  async claim(object: ObjectVersion, owner: string, leaseUntil: number): Promise<Checkpoint> {
    const id = checkpointId(object);
    const { checkpoint, next } = decideClaim(this.items.get(id), owner, leaseUntil, this.now());
    if (next) this.items.set(id, next);
    return checkpoint;
  }

  async commit(object: ObjectVersion, owner: string, checkpoint: Checkpoint, options?: { release?: boolean }): Promise<void> {
    const id = checkpointId(object);
    this.items.set(id, decideCommit(this.items.get(id), owner, checkpoint, options?.release ?? false));
  }

  /** The stored checkpoint, for inspection. */
  get(object: ObjectVersion): Checkpoint | undefined {
    const stored = this.items.get(checkpointId(object));
    return stored && toCheckpoint(stored);
  }
}

/**
 * One JSON file per object version in `directory`, replaced atomically (write + rename), so a
 * process killed at any point leaves either the old or the new checkpoint. Conditions are checked
 * read-then-write: safe for one process at a time per object (local runs), not for concurrent
 * processes racing on the same object (use DynamoDB for that).
 */
export class FileCheckpointStore implements CheckpointStore {
  private readonly locks = new Map<string, Promise<unknown>>();
  constructor(private readonly directory: string, private readonly now: () => number = Date.now) {}

  private file(object: ObjectVersion): string {
    return path.join(this.directory, `${createHash('sha256').update(checkpointId(object)).digest('hex')}.json`);
  }

  private async read(file: string): Promise<StoredCheckpoint | undefined> {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as StoredCheckpoint;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private async write(file: string, object: ObjectVersion, value: StoredCheckpoint): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temp, JSON.stringify({ object, ...value }));
    await rename(temp, file);
  }

  // Serialises operations on one object within this process.
  private async exclusive<T>(file: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(file) ?? Promise.resolve();
    const result = previous.then(work, work);
    const settled = result.catch(() => undefined);
    this.locks.set(file, settled);
    try {
      return await result;
    } finally {
      if (this.locks.get(file) === settled) this.locks.delete(file);
    }
  }

  async claim(object: ObjectVersion, owner: string, leaseUntil: number): Promise<Checkpoint> {
    const file = this.file(object);
    return this.exclusive(file, async () => {
      const { checkpoint, next } = decideClaim(await this.read(file), owner, leaseUntil, this.now());
      if (next) await this.write(file, object, next);
      return checkpoint;
    });
  }

  async commit(object: ObjectVersion, owner: string, checkpoint: Checkpoint, options?: { release?: boolean }): Promise<void> {
    const file = this.file(object);
    await this.exclusive(file, async () => {
      await this.write(file, object, decideCommit(await this.read(file), owner, checkpoint, options?.release ?? false));
    });
  }

  async get(object: ObjectVersion): Promise<Checkpoint | undefined> {
    const stored = await this.read(this.file(object));
    return stored && toCheckpoint(stored);
  }
}

/**
 * DynamoDB table with partition key `id` (string) and TTL attribute `expiresAt` (epoch seconds).
 * Every write is a conditional UpdateItem, so the lease and monotonic progress hold across
 * concurrent Lambda invocations.
 */
export class DynamoDbCheckpointStore implements CheckpointStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: { ttlDays?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private expiresAt(): string {
    return String(Math.floor(this.now() / 1000) + (this.options.ttlDays ?? 30) * 86_400);
  }

  async claim(object: ObjectVersion, owner: string, leaseUntil: number): Promise<Checkpoint> {
    const id = checkpointId(object);
    try {
      const result = await this.client.send(new UpdateItemCommand({
        TableName: this.tableName,
        Key: { id: { S: id } },
        UpdateExpression: 'SET #owner = :owner, leaseUntil = :lease, expiresAt = :expires, '
          + '#lines = if_not_exists(#lines, :zero), #bytes = if_not_exists(#bytes, :zero), '
          + 'accepted = if_not_exists(accepted, :none), done = if_not_exists(done, :false)',
        ConditionExpression: 'attribute_not_exists(id) OR (done = :false AND (leaseUntil < :now OR #owner = :owner))',
        ExpressionAttributeNames: { '#owner': 'owner', '#lines': 'lines', '#bytes': 'bytes' },
        ExpressionAttributeValues: {
          ':owner': { S: owner }, ':lease': { N: String(leaseUntil) }, ':expires': { N: this.expiresAt() },
          ':zero': { N: '0' }, ':none': { S: '[]' }, ':false': { BOOL: false }, ':now': { N: String(this.now()) },
        },
        ReturnValues: 'ALL_NEW',
      }));
      return fromItem(result.Attributes ?? {});
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { id: { S: id } }, ConsistentRead: true }));
      const item = current.Item ?? {};
      if (item['done']?.BOOL) return fromItem(item);
      const leaseUntil = Number(item['leaseUntil']?.N ?? 0);
      throw new CheckpointConflictError(`object is being loaded by another invocation (lease until ${new Date(leaseUntil).toISOString()})`, { leaseUntil });
    }
  }

  async commit(object: ObjectVersion, owner: string, checkpoint: Checkpoint, options?: { release?: boolean }): Promise<void> {
    const release = options?.release ?? false;
    try {
      await this.client.send(new UpdateItemCommand({
        TableName: this.tableName,
        Key: { id: { S: checkpointId(object) } },
        UpdateExpression: 'SET #lines = :lines, #bytes = :bytes, accepted = :accepted, done = :done, expiresAt = :expires'
          + (release ? ', leaseUntil = :zero REMOVE #owner' : ''),
        ConditionExpression: '#owner = :owner AND #lines <= :lines',
        ExpressionAttributeNames: { '#owner': 'owner', '#lines': 'lines', '#bytes': 'bytes' },
        ExpressionAttributeValues: {
          ':owner': { S: owner }, ':lines': { N: String(checkpoint.lines) }, ':bytes': { N: String(checkpoint.bytes) },
          ':accepted': { S: JSON.stringify(checkpoint.accepted) }, ':done': { BOOL: checkpoint.done }, ':expires': { N: this.expiresAt() },
          ...(release ? { ':zero': { N: '0' } } : {}),
        },
      }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new CheckpointConflictError('lease lost or checkpoint would move backwards');
      }
      throw error;
    }
  }
}

function fromItem(item: Record<string, { N?: string; S?: string; BOOL?: boolean }>): Checkpoint {
  return {
    lines: Number(item['lines']?.N ?? 0),
    bytes: Number(item['bytes']?.N ?? 0),
    accepted: JSON.parse(item['accepted']?.S ?? '[]') as LineRanges,
    done: item['done']?.BOOL ?? false,
  };
}
