// Firehose's backup bucket as the replay sees it: list the objects under a prefix, read one whole
// (pinned to the version listed), write an object, and move one aside (copy, then delete). Two
// adapters: S3 (the replayer Lambda, `albatross` against a real bucket, the tests through s3rver)
// and a local folder (the demo's local Firehose writes its backup there).
import { copyFile, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SourceObject } from './sources.ts';

export interface BackupStore {
  /** `s3://bucket/` or the folder path. */
  readonly description: string;
  /** Set for S3: failure records name `s3://bucket/key`. */
  readonly bucket?: string;
  list(prefix: string): AsyncIterable<SourceObject>;
  /** The object's bytes as stored; fails when it changed since it was listed. */
  read(object: SourceObject): Promise<Buffer>;
  put(key: string, body: Buffer): Promise<void>;
  /** Copies the object to `toKey` as it is, then deletes it. */
  move(object: SourceObject, toKey: string): Promise<void>;
}

export function s3BackupStore(s3: S3Client, bucket: string): BackupStore {
  return {
    description: `s3://${bucket}/`,
    bucket,
    async *list(prefix) {
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, version: o.ETag ?? '' };
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async read(object) {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.key, IfMatch: object.version || undefined }));
      if (!response.Body) throw new Error(`s3://${bucket}/${object.key}: no body`);
      return Buffer.from(await response.Body.transformToByteArray());
    },
    async put(key, body) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async move(object, toKey) {
      await s3.send(new CopyObjectCommand({
        Bucket: bucket,
        Key: toKey,
        CopySource: `${bucket}/${object.key.split('/').map(encodeURIComponent).join('/')}`,
        ...(object.version ? { CopySourceIfMatch: object.version } : {}),
      }));
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.key }));
    },
  };
}

export function folderBackupStore(folder: string): BackupStore {
  const root = path.resolve(folder);
  const file = (key: string) => path.join(root, ...key.split('/'));
  const versionOf = async (key: string) => {
    const info = await stat(file(key));
    return `${info.size}-${info.mtimeMs}`;
  };
  return {
    description: root + path.sep,
    async *list(prefix) {
      // Keys under the prefix's folder part, then filtered by the whole prefix (as S3 does).
      const folderPart = prefix.slice(0, prefix.lastIndexOf('/') + 1);
      let entries;
      try {
        entries = await readdir(file(folderPart), { recursive: true, withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      const keys = entries
        .filter((e) => e.isFile())
        .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
        .filter((key) => key.startsWith(prefix))
        .sort();
      for (const key of keys) {
        const info = await stat(file(key));
        yield { key, size: info.size, version: `${info.size}-${info.mtimeMs}` };
      }
    },
    async read(object) {
      const body = await readFile(file(object.key));
      if ((await versionOf(object.key)) !== object.version) throw new Error(`${file(object.key)} changed since it was listed`);
      return body;
    },
    async put(key, body) {
      await mkdir(path.dirname(file(key)), { recursive: true });
      await writeFile(file(key), body);
    },
    async move(object, toKey) {
      await mkdir(path.dirname(file(toKey)), { recursive: true });
      await copyFile(file(object.key), file(toKey));
      await unlink(file(object.key));
    },
  };
}
