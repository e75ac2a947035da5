// createFirehoseClient() against the local Firehose stand-in: records must arrive byte for byte as
// with the stock client, and the blobs must really go through the native base64 encoder.
import { randomBytes } from 'node:crypto';
import {
  FirehoseClient, PutRecordBatchCommand, PutRecordCommand, ResourceNotFoundException, ServiceUnavailableException,
} from '@aws-sdk/client-firehose';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalFirehose, type FirehoseFaults, type LocalFirehose } from '../../../scripts/local/firehose-server.ts';
import {
  createFirehoseClient, nativeBase64Decoder, nativeBase64Encoder, NativeBase64JsonSerializer,
} from '../../../transform/loader/firehose-client.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const STREAM = 'alb-logs';
let server: LocalFirehose | undefined;
const clients: FirehoseClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await server?.stop();
  server = undefined;
});

async function start(faults?: FirehoseFaults): Promise<{ accepted: Buffer[]; endpoint: string }> {
  const accepted: Buffer[] = [];
  server = await startLocalFirehose({
    streams: [STREAM],
    sink: { accept: async (_stream, records) => { accepted.push(...records.map((r) => Buffer.from(r.base64, 'base64'))); } },
    ...(faults ? { faults } : {}),
  });
  return { accepted, endpoint: server.endpoint };
}

function track<T extends FirehoseClient>(client: T): T {
  clients.push(client);
  return client;
}

/** Records the request bodies a client sends (after serialization, before signing). */
function captureBodies(client: FirehoseClient): Buffer[] {
  const bodies: Buffer[] = [];
  client.middlewareStack.add((next) => async (args) => {
    const { body } = args.request as { body: Uint8Array | string };
    bodies.push(typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    return next(args);
  }, { step: 'build', name: 'captureBody' });
  return bodies;
}

// Every padding case (length % 3), non-ASCII UTF-8, all 256 byte values, views at odd offsets into
// a larger buffer (the loader's records are pooled Buffer views), a plain Uint8Array view, and
// records big enough to need several output-buffer growths.
function testRecords(): Uint8Array[] {
  const backing = randomBytes(10_000);
  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const plain = new Uint8Array(randomBytes(3001).buffer, 7, 2990);
  return [
    Buffer.from('a'), Buffer.from('ab'), Buffer.from('abc'), Buffer.from('abcd'),
    Buffer.from('\x1ealb-logs key 0\nGET https://exämple.com/ü?q=日本語 "🚀" \u0000\u00ff', 'utf8'),
    allBytes, Buffer.concat([allBytes, Buffer.from(allBytes).reverse()]),
    backing.subarray(1, 2), backing.subarray(3, 5), backing.subarray(5, 8), backing.subarray(13, 1013),
    plain,
    randomBytes(300_000), Buffer.alloc(200_000, 0xff),
  ];
}

describe('createFirehoseClient', () => {
  it('uses Node\'s native base64 encoder for record blobs', () => {
    const client = track(createFirehoseClient({ region: 'us-east-1', credentials }));
    expect(client.config.base64Encoder).toBe(nativeBase64Encoder);
    expect(client.config.base64Decoder).toBe(nativeBase64Decoder);
    const protocol = client.config.protocol as unknown as { serializer: unknown };
    expect(protocol.serializer).toBeInstanceOf(NativeBase64JsonSerializer);
    for (const bytes of testRecords()) {
      expect(nativeBase64Encoder(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(Buffer.from(nativeBase64Decoder(nativeBase64Encoder(bytes))).equals(bytes)).toBe(true);
    }
    expect(nativeBase64Encoder('ü')).toBe('w7w=');
  });

  it('delivers records byte for byte, and its request bodies equal the stock client\'s', async () => {
    const { accepted, endpoint } = await start();
    const encoded: Uint8Array[] = [];
    // A counting wrapper proves the serializer calls the configured encoder for every blob.
    const countingEncoder = (input: Uint8Array | string): string => {
      if (typeof input !== 'string') encoded.push(input);
      return nativeBase64Encoder(input);
    };
    const fast = track(createFirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1, base64Encoder: countingEncoder }));
    const stock = track(new FirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }));
    const fastBodies = captureBodies(fast);
    const stockBodies = captureBodies(stock);
    const records = testRecords();
    const batches = [records, records.slice(0, 3), records.slice(4, 12), records];

    for (const batch of batches) {
      const result = await fast.send(new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: batch.map((Data) => ({ Data })) }));
      expect(result.FailedPutCount).toBe(0);
      expect(result.RequestResponses).toHaveLength(batch.length);
      expect(result.RequestResponses!.every((r) => typeof r.RecordId === 'string' && r.ErrorCode === undefined)).toBe(true);
    }
    const single = await fast.send(new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: records[4]! } }));
    expect(single.RecordId).toMatch(/^[0-9a-f]{32}$/);

    const expected = [...batches.flat(), records[4]!].map((r) => Buffer.from(r));
    expect(accepted).toHaveLength(expected.length);
    accepted.forEach((got, i) => expect(got.equals(expected[i]!), `record ${i}`).toBe(true));
    expect(encoded).toHaveLength(expected.length);

    const sentBefore = accepted.length;
    for (const batch of batches) {
      await stock.send(new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: batch.map((Data) => ({ Data })) }));
    }
    await stock.send(new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: records[4]! } }));
    expect(accepted.slice(sentBefore).map((r) => r.toString('hex'))).toEqual(expected.map((r) => r.toString('hex')));
    expect(fastBodies).toHaveLength(batches.length + 1);
    expect(fastBodies.map((b) => b.toString('latin1'))).toEqual(stockBodies.map((b) => b.toString('latin1')));
  });

  it('keeps the SDK\'s error types and leaves retries to the caller when asked', async () => {
    const { endpoint } = await start({ throttleRate: 1 });
    const client = track(createFirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }));
    const data = { Data: Buffer.from('line') };
    const unknown = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'nope', Records: [data] })).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ResourceNotFoundException);
    const throttled = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: [data] })).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(ServiceUnavailableException);
    expect((throttled as ServiceUnavailableException).$metadata).toMatchObject({ httpStatusCode: 503, attempts: 1 });
    expect(server!.stats.throttled).toBe(1);
  });
});
