// Where a backfill reads from: `s3://bucket/prefix` (default AWS credentials chain) or a local
// folder in the same AWSLogs/... layout. Both list objects with a size and a version tag (S3 ETag,
// file mtime) and open an object as a byte stream.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { parseS3Url } from './s3-url.ts';

export interface SourceObject {
  /** S3 key, or the path relative to the folder with `/` separators. */
  key: string;
  size: number;
  /** Changes when the object changes: S3 ETag, or size+mtime for files. */
  version: string;
}

export interface LogSource {
  /** `s3://bucket/prefix` or the absolute folder path. */
  description: string;
  bucket?: string;
  list(): AsyncIterable<SourceObject>;
  open(object: SourceObject, signal?: AbortSignal): Promise<Readable>;
  /** Value for log.file.path-style scoping: `s3://bucket/` or the folder path. */
  pathPrefix: string;
  /** The key as the parser's LineSource should see it (files: absolute path). */
  lineKey(object: SourceObject): string;
}

/**
 * An S3 client for a bucket in any region: it follows S3's region redirects, so the configured region
 * (AWS_REGION, the profile's) is only where it starts. With none configured it starts in us-east-1
 * instead of failing with the SDK's "Region is missing".
 */
async function s3Client(clientConfig: S3ClientConfig): Promise<S3Client> {
  const configured = new S3Client({ followRegionRedirects: true, ...clientConfig });
  try {
    await configured.config.region();
    return configured;
  } catch {
    configured.destroy();
    return new S3Client({ followRegionRedirects: true, region: 'us-east-1', ...clientConfig });
  }
}

export function s3Source(url: string, clientConfig: S3ClientConfig = {}): LogSource {
  const parsed = parseS3Url(url);
  if (!parsed) throw new Error(`not an s3://bucket/prefix URL with a valid bucket name: ${url}`);
  const { bucket, prefix } = parsed;
  let client: Promise<S3Client> | undefined;
  const s3 = () => (client ??= s3Client(clientConfig));
  return {
    description: url,
    bucket,
    pathPrefix: `s3://${bucket}/${prefix}`,
    lineKey: (object) => object.key,
    async *list() {
      let token: string | undefined;
      do {
        const page = await (await s3()).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined) continue;
          yield { key: o.Key, size: o.Size ?? 0, version: o.ETag ?? '' };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async open(object, signal) {
      const response = await (await s3()).send(new GetObjectCommand({ Bucket: bucket, Key: object.key, IfMatch: object.version || undefined }), {
        abortSignal: signal,
      });
      if (!(response.Body instanceof Readable)) throw new Error(`s3://${bucket}/${object.key}: no body stream`);
      return response.Body;
    },
  };
}

export function folderSource(folder: string): LogSource {
  const root = path.resolve(folder);
  return {
    description: root,
    pathPrefix: root + path.sep,
    lineKey: (object) => path.join(root, ...object.key.split('/')),
    async *list() {
      const entries = await readdir(root, { recursive: true, withFileTypes: true });
      const files = entries
        .filter((e) => e.isFile())
        .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
        .sort();
      for (const key of files) {
        const info = await stat(path.join(root, key));
        yield { key, size: info.size, version: `${info.size}-${info.mtimeMs}` };
      }
    },
    async open(object, signal) {
      return createReadStream(path.join(root, ...object.key.split('/')), signal ? { signal } : {});
    },
  };
}

/** `s3://...` or a folder. */
export function openSource(spec: string, s3Config: S3ClientConfig = {}): LogSource {
  return spec.startsWith('s3://') ? s3Source(spec, s3Config) : folderSource(spec);
}
