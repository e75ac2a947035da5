// The message `albatross backfill --on-aws` puts on the stack's backfill queue: one ALB log object
// (bucket, key, the ETag it was listed with, its size) of one backfill run, with the run's event
// days. The backfill worker (the direct loader's handler, transform/loader/handler.ts) indexes it.

export interface BackfillObjectMessage {
  /** The run (backfillRunId): its progress items are under this key. */
  run: string;
  bucket: string;
  key: string;
  /** ETag when listed: a replaced object is not indexed (its new version needs a new run). */
  etag: string;
  /** Compressed bytes, for the run's progress and time estimate. */
  size: number;
  /** Inclusive UTC event days `YYYY-MM-DD`; lines outside are counted, not indexed. */
  from?: string;
  to?: string;
}

/** Marks a queue message as a backfill object (S3 notifications have `Records`). */
const MARKER = 'albatrossBackfill';

export function backfillMessageBody(message: BackfillObjectMessage): string {
  return JSON.stringify({ [MARKER]: 1, ...message });
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The backfill object of a parsed message body; undefined when the body is not a backfill message,
 * throws when it is one with missing or malformed fields (the message then fails and reaches the DLQ).
 */
export function parseBackfillMessage(body: unknown): BackfillObjectMessage | undefined {
  if (typeof body !== 'object' || body === null || !(MARKER in body)) return undefined;
  const b = body as Record<string, unknown>;
  const text = (name: string) => (typeof b[name] === 'string' && b[name] !== '' ? (b[name] as string) : undefined);
  const run = text('run');
  const bucket = text('bucket');
  const key = text('key');
  const etag = text('etag');
  const size = b['size'];
  const from = text('from');
  const to = text('to');
  if (run === undefined || bucket === undefined || key === undefined || etag === undefined || typeof size !== 'number' || !(size >= 0)) {
    throw new Error('backfill message without run, bucket, key, etag or size');
  }
  if ((from !== undefined && !DAY.test(from)) || (to !== undefined && !DAY.test(to))) throw new Error(`backfill message with a malformed day (${from} / ${to})`);
  return { run, bucket, key, etag, size, ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

/** The run of a backfill: the same source, days and log types are the same run, so running the command again queues nothing new. */
export function backfillRunId(options: { source: string; from?: string; to?: string; logTypes: readonly string[] }): string {
  return `${options.source} ${options.from ?? '*'}..${options.to ?? '*'} ${[...options.logTypes].sort().join(',')}`;
}

/** The object's name in a run: `s3://bucket/key`. */
export function objectUrl(message: Pick<BackfillObjectMessage, 'bucket' | 'key'>): string {
  return `s3://${message.bucket}/${message.key}`;
}
