// S3 stand-in on loopback: s3rver (S3 REST/XML wire protocol on the local file system), checked
// against the current @aws-sdk/client-s3 (path-style PutObject/GetObject streaming/Range/HeadObject/
// ListObjectsV2, ETags, NoSuchKey) in test/scripts/local/s3-server.test.ts. Clients use
// `forcePathStyle: true` and any credentials.
//
// `onObjectCreated` receives the S3 event notification S3 would send for each new object, in the
// real wire shape: the key URL-encoded with '+' for spaces, ETag without quotes.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export interface S3EventNotification {
  Records: Array<{
    eventVersion: string; eventSource: 'aws:s3'; awsRegion: string; eventTime: string; eventName: string;
    s3: { s3SchemaVersion: string; configurationId: string; bucket: { name: string; arn: string }; object: { key: string; size: number; eTag: string; sequencer: string } };
  }>;
}

export interface LocalS3Options {
  /** Where objects live; default a fresh temporary directory removed on stop(). */
  directory?: string;
  port?: number;
  /** Buckets created at start. */
  buckets?: string[];
  /** Called for every PutObject/CopyObject/POST, as an S3 ObjectCreated notification. */
  onObjectCreated?: (notification: S3EventNotification) => void;
}

export interface LocalS3 { endpoint: string; stop(): Promise<void> }

/** S3 event notifications form-encode keys: spaces become '+', other specials %XX. */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

interface S3rverRecord { eventName: string; awsRegion: string; eventTime: string; s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; sequencer: string } } }

export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3> {
  const temporary = options.directory === undefined ? await mkdtemp(path.join(os.tmpdir(), 'albatross-s3-')) : undefined;
  const directory = options.directory ?? temporary!;
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory,
    silent: true,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name, configs: [] })),
  });
  if (options.onObjectCreated) {
    const notify = options.onObjectCreated;
    server.on('event', (event: { Records: S3rverRecord[] }) => {
      const records = event.Records.filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => ({
        eventVersion: '2.1', eventSource: 'aws:s3' as const, awsRegion: r.awsRegion, eventTime: r.eventTime,
        eventName: r.eventName,
        s3: {
          s3SchemaVersion: '1.0', configurationId: 'albatross-local',
          bucket: { name: r.s3.bucket.name, arn: `arn:aws:s3:::${r.s3.bucket.name}` },
          object: { key: encodeEventKey(r.s3.object.key), size: r.s3.object.size ?? 0, eTag: r.s3.object.eTag ?? '', sequencer: r.s3.object.sequencer },
        },
      }));
      if (records.length > 0) notify({ Records: records });
    });
  }
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      const closing = server.close();
      server.httpServer?.closeAllConnections();
      await closing;
      if (temporary) await rm(temporary, { recursive: true, force: true });
    },
  };
}
