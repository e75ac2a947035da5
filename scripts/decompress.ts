// Bytes of a file or object, gunzipped when they start with the gzip magic number: log files and
// Firehose backups come both ways, and a name does not always say which.
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';

const GZIP_MAGIC = [0x1f, 0x8b];

/** Yields the decompressed bytes of `input` (multi-member gzip too), or `input` as it is. */
export async function* gunzipIfCompressed(input: AsyncIterable<Buffer>, chunkSize?: number): AsyncGenerator<Buffer> {
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const head: Buffer = first.value;
  const rest = {
    async *[Symbol.asyncIterator]() {
      yield head;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    },
  };
  if (head[0] !== GZIP_MAGIC[0] || head[1] !== GZIP_MAGIC[1]) {
    yield* rest;
    return;
  }
  const gunzip = createGunzip(chunkSize === undefined ? {} : { chunkSize });
  const feeding = (async () => {
    try {
      for await (const chunk of rest) if (!gunzip.write(chunk)) await once(gunzip, 'drain');
      gunzip.end();
    } catch (error) {
      gunzip.destroy(error as Error);
    }
  })();
  for await (const chunk of gunzip) yield chunk as Buffer;
  await feeding;
}
