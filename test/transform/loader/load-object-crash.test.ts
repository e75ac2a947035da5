// A real crash: the loader runs in a child process that is SIGKILLed from inside the Firehose
// stand-in while a PutRecordBatch is being accepted (the records land, the response never
// arrives). The retry resumes from the file checkpoint: no line is missing, and the only lines
// sent twice are the ones accepted after the last durable checkpoint - the documented window of
// at most (concurrency + 1) batches.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CheckpointConflictError, FileCheckpointStore } from '../../../transform/loader/checkpoint.ts';
import { MemoryFailureSink } from '../../../transform/loader/failures.ts';
import { loadObject } from '../../../transform/loader/load-object.ts';
import { pollUntil } from '../../poll.ts';
import { ACCESS_LOG_KEY, BUCKET, STREAM, delivered, expectedLines, gzipText, logLines, startStandIns, type StandIns } from './harness.ts';

let env: StandIns;
beforeEach(async () => { env = await startStandIns(); });
afterEach(async () => { await env.stop(); });

const CONCURRENCY = 4;
const BATCH = 200;
const LEASE_MS = 2_000;

it('resumes after the loader process is killed mid-object: no gaps, duplicates only inside the in-flight window', async () => {
  const text = logLines(20_000).join('\n') + '\n';
  const etag = await env.put(ACCESS_LOG_KEY, gzipText(text));
  const directory = await mkdtemp(path.join(os.tmpdir(), 'loader-crash-'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'crash-child.ts')], {
    env: {
      ...process.env,
      CRASH_S3_ENDPOINT: env.localS3.endpoint, CRASH_FIREHOSE_ENDPOINT: env.localFirehose.endpoint, CRASH_STREAM: STREAM,
      CRASH_CHECKPOINT_DIR: directory, CRASH_BUCKET: BUCKET, CRASH_KEY: ACCESS_LOG_KEY,
      CRASH_CONCURRENCY: String(CONCURRENCY), CRASH_BATCH: String(BATCH), CRASH_LEASE_MS: String(LEASE_MS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let crashed!: () => void;
  const crash = new Promise<void>((resolve) => { crashed = resolve; });
  env.sink.afterAccept = async () => {
    if (env.sink.records.length >= 9_000 && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited; // the records of this call are stored, but the child never hears so
      crashed();
    }
  };
  expect(await exited).toBe('SIGKILL');
  await crash;
  expect(output).not.toContain('finished');
  env.sink.afterAccept = undefined;
  const acceptedBeforeCrash = env.sink.records.length;
  expect(acceptedBeforeCrash).toBeGreaterThanOrEqual(9_000);
  expect(acceptedBeforeCrash).toBeLessThan(20_000);

  const checkpoints = new FileCheckpointStore(directory);
  const object = { bucket: BUCKET, key: ACCESS_LOG_KEY, etag };
  const atCrash = (await checkpoints.get(object))!;
  expect(atCrash.done).toBe(false);
  expect(atCrash.lines).toBeGreaterThan(0);

  // The dead process's lease blocks a takeover until it expires (LEASE_MS); any other error ends the wait.
  const result = await pollUntil('the dead loader\'s lease to expire', async () => {
    try {
      return await loadObject({
        s3: env.s3, firehose: env.firehose, deliveryStream: STREAM, checkpoints, failures: new MemoryFailureSink(),
        bucket: BUCKET, key: ACCESS_LOG_KEY,
      });
    } catch (error) {
      if (error instanceof CheckpointConflictError) return undefined;
      throw error;
    }
  }, { timeoutMs: LEASE_MS + 60_000, intervalMs: 200 });
  expect(result.status).toBe('loaded');
  expect((await checkpoints.get(object))!.done).toBe(true);

  const expected = expectedLines(text);
  const outcome = delivered(env.sink.records, ACCESS_LOG_KEY, expected);
  expect(outcome.missing).toEqual([]);
  const lineOf = new Map([...expected.keys()].map((offset, index) => [offset, index]));
  const covered = (line: number): boolean => line < atCrash.lines || atCrash.accepted.some(([s, e]) => s <= line && line < e);
  for (const offset of outcome.duplicates) expect(covered(lineOf.get(offset)!)).toBe(false);
  expect(outcome.duplicates.length).toBeLessThanOrEqual((CONCURRENCY + 1) * BATCH);
  expect(env.sink.records.length).toBe(20_000 + outcome.duplicates.length);
}, 180_000); // the child compiles TypeScript (tsx) before it loads: slow on a busy machine
