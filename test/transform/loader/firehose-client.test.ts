// createFirehoseClient() against the local Firehose stand-in: records must arrive byte for byte as
// with the stock client, request bodies and parsed responses must equal the stock client's (the
// PutRecordBatch fast paths and every fallback to the SDK's generic path), and blobs must really go
// through the configured base64 encoder.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  FirehoseClient, PutRecordBatchCommand, PutRecordBatchInput$, PutRecordBatchOutput$, PutRecordCommand,
  ResourceNotFoundException, ServiceUnavailableException, type PutRecordBatchCommandOutput,
} from '@aws-sdk/client-firehose';
import { JsonShapeDeserializer2, JsonShapeSerializer2, type JsonSettings } from '@aws-sdk/core/protocols';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalFirehose, type FirehoseFaults, type LocalFirehose } from '../../../scripts/local/firehose-server.ts';
import {
  createFirehoseClient, FirehoseJsonCodec, FirehoseJsonDeserializer, FirehoseJsonSerializer, nativeBase64Decoder,
  nativeBase64Encoder, readPutRecordBatchOutput,
} from '../../../transform/loader/firehose-client.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const asBytes = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
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
    const protocol = client.config.protocol as unknown as { serializer: FirehoseJsonSerializer; deserializer: FirehoseJsonDeserializer };
    expect(protocol.serializer).toBeInstanceOf(FirehoseJsonSerializer);
    expect(protocol.deserializer).toBeInstanceOf(FirehoseJsonDeserializer);
    // The self-checks against the SDK's generic path passed with the installed SDK: the fast paths are on.
    expect(protocol.serializer.putRecordBatchFastPath).toBe(true);
    expect(protocol.deserializer.putRecordBatchFastPath).toBe(true);
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
  it('sends the same bodies as the stock client with its default encoder, and falls back to the SDK for other input forms', async () => {
    const { accepted, endpoint } = await start();
    const fast = track(createFirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }));
    const stock = track(new FirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }));
    const fastBodies = captureBodies(fast);
    const stockBodies = captureBodies(stock);
    const records = testRecords();
    // Forms the direct writer leaves to the SDK: a string blob (UTF-8 then base64), a null entry
    // (skipped), an entry without Data (`{}`), an extra `__type` (written through), and no records.
    const inputs: unknown[] = [
      { DeliveryStreamName: STREAM, Records: records.map((Data) => ({ Data })) },
      { DeliveryStreamName: STREAM, Records: [{ Data: records[0]! }, { Data: 'text ü' }] },
      { DeliveryStreamName: STREAM, Records: [{ Data: records[1]! }, null, { Data: records[2]! }] },
      { DeliveryStreamName: STREAM, Records: [{ Data: records[1]! }, { __type: 'x', Data: records[2]! }] },
    ];
    for (const client of [fast, stock]) {
      for (const input of inputs) {
        await client.send(new PutRecordBatchCommand(input as never)).catch((error: unknown) => error);
      }
    }
    expect(fastBodies).toHaveLength(inputs.length);
    expect(fastBodies.map((b) => b.toString('latin1'))).toEqual(stockBodies.map((b) => b.toString('latin1')));
    // The first input went through the direct writer, the other three through the SDK's generic
    // walk; all four responses (every record accepted) through the direct reader.
    const protocol = fast.config.protocol as unknown as { serializer: FirehoseJsonSerializer; deserializer: FirehoseJsonDeserializer };
    expect(protocol.serializer.directWrites).toBe(1);
    expect(protocol.deserializer.directReads).toBe(inputs.length);
    // The records of the first input arrive intact from both clients.
    const first = records.map((r) => Buffer.from(r).toString('hex'));
    expect(accepted.slice(0, records.length).map((r) => r.toString('hex'))).toEqual(first);
  });

  it('writes every PutRecordBatch input exactly as the SDK\'s generic serializer does (property)', () => {
    const settings: JsonSettings = { timestampFormat: { useTrait: true, default: 7 }, jsonName: false };
    const codec = new FirehoseJsonCodec(settings);
    codec.setSerdeContext({ base64Encoder: nativeBase64Encoder } as never);
    const fast = codec.createSerializer();
    const stock = new JsonShapeSerializer2(settings);
    const blob = fc.tuple(fc.uint8Array({ maxLength: 2_000 }), fc.nat({ max: 7 })).map(([bytes, skip]) => {
      // Views at odd offsets into a larger buffer, like the loader's pooled records.
      const backing = Buffer.concat([Buffer.alloc(skip, 0x41), Buffer.from(bytes), Buffer.alloc(3, 0x42)]);
      return backing.subarray(skip, skip + bytes.length);
    });
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.array(blob, { maxLength: 40 }), (name, blobs) => {
      const input = { DeliveryStreamName: name, Records: blobs.map((Data) => ({ Data })) };
      fast.write(PutRecordBatchInput$, input);
      stock.write(PutRecordBatchInput$, input);
      const [a, b] = [fast.flush(), stock.flush()];
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
    }), { numRuns: 300 });
  });

  it('turns a fast path off and says so when it disagrees with the SDK at the self-check', async () => {
    // An SDK update that changes the wire form cannot be caused here; this serializer stands in for
    // one: its direct writer's bodies differ from the generic walk's by one trailing space.
    class DriftedSerializer extends FirehoseJsonSerializer {
      private seen = 0;
      override flush(): Uint8Array {
        const body = super.flush();
        const direct = this.directWrites > this.seen;
        this.seen = this.directWrites;
        return direct ? Buffer.concat([asBytes(body), Buffer.from(' ')]) : body;
      }
    }
    class DriftedCodec extends FirehoseJsonCodec {
      protected override newSerializer(): FirehoseJsonSerializer {
        return new DriftedSerializer(this.settings);
      }
    }
    const settings: JsonSettings = { timestampFormat: { useTrait: true, default: 7 }, jsonName: false };
    const off: string[] = [];
    const codec = new DriftedCodec(settings, { onFastPathOff: (path) => off.push(path) });
    codec.setSerdeContext({ base64Encoder: nativeBase64Encoder } as never);
    const serializer = codec.createSerializer();
    expect(off).toEqual(['PutRecordBatch request']);
    expect(serializer.putRecordBatchFastPath).toBe(false);
    // From then on every body is the SDK's own.
    const input = { DeliveryStreamName: STREAM, Records: testRecords().map((Data) => ({ Data })) };
    serializer.write(PutRecordBatchInput$, input);
    const stock = new JsonShapeSerializer2(settings);
    stock.write(PutRecordBatchInput$, input);
    expect(asBytes(serializer.flush()).equals(asBytes(stock.flush()))).toBe(true);
    expect(serializer.directWrites).toBe(0);
    // The same for the response path: this reader drops the Encrypted flag.
    class DriftedDeserializer extends FirehoseJsonDeserializer {
      override readDirect(parsed: unknown): Record<string, unknown> | undefined {
        const result = super.readDirect(parsed);
        if (result) delete result['Encrypted'];
        return result;
      }
    }
    class DriftedReaderCodec extends FirehoseJsonCodec {
      protected override newDeserializer(): FirehoseJsonDeserializer {
        return new DriftedDeserializer(this.settings);
      }
    }
    const offReading: string[] = [];
    const readerCodec = new DriftedReaderCodec(settings, { onFastPathOff: (path) => offReading.push(path) });
    const reader = readerCodec.createDeserializer();
    expect(offReading).toEqual(['PutRecordBatch response']);
    expect(reader.putRecordBatchFastPath).toBe(false);
    // The protocol asks for a deserializer per error response: the verdict stands, reported once.
    expect(readerCodec.createDeserializer().putRecordBatchFastPath).toBe(false);
    expect(codec.createSerializer().putRecordBatchFastPath).toBe(false);
    expect([...off, ...offReading]).toEqual(['PutRecordBatch request', 'PutRecordBatch response']);
    const body = Buffer.from(JSON.stringify({ FailedPutCount: 0, Encrypted: true, RequestResponses: [{ RecordId: 'r1' }] }));
    const read = await reader.read(PutRecordBatchOutput$, body);
    expect(read).toEqual(await new JsonShapeDeserializer2(settings).read(PutRecordBatchOutput$, body));
    expect(read).toMatchObject({ Encrypted: true });
    expect(reader.directReads).toBe(0);
    // A healthy codec says nothing.
    const quiet: string[] = [];
    const healthy = new FirehoseJsonCodec(settings, { onFastPathOff: (path) => quiet.push(path) });
    expect(healthy.createSerializer().putRecordBatchFastPath).toBe(true);
    expect(healthy.createDeserializer().putRecordBatchFastPath).toBe(true);
    expect(quiet).toEqual([]);
  });

  it('reads PutRecordBatch responses exactly as the SDK\'s generic deserializer does: failures, encrypted flag, odd forms', async () => {
    const { endpoint } = await start({ partialFailureRate: 0.4, seed: 7 });
    // Real response bodies from the stand-in, with record failures (ErrorCode, ErrorMessage).
    const wire = async (count: number): Promise<Buffer> => {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Firehose_20150804.PutRecordBatch' },
        body: JSON.stringify({ DeliveryStreamName: STREAM, Records: Array.from({ length: count }, (_, i) => ({ Data: Buffer.from(`line ${i}`).toString('base64') })) }),
      });
      return Buffer.from(await response.arrayBuffer());
    };
    const real = [await wire(1), await wire(20), await wire(500)];
    expect(real.some((body) => body.includes('"ErrorCode":"ServiceUnavailableException"'))).toBe(true);
    const odd = [
      { FailedPutCount: 2, Encrypted: true, RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'm' }, { ErrorCode: 'x' }] },
      { FailedPutCount: 0, RequestResponses: [], Unknown: [1, 2] },
      { RequestResponses: [{ RecordId: 'a', Extra: 1 }, { RecordId: null, ErrorMessage: null }, {}] },
      { FailedPutCount: null, Encrypted: null, RequestResponses: null },
      { FailedPutCount: '3', RequestResponses: [] },
      { FailedPutCount: 'NaN' },
      { RequestResponses: [null, 'x', 3] },
      { RequestResponses: [[1]] },
      { RequestResponses: { RecordId: 'a' } },
      { __type: 'com.amazonaws.firehose#PutRecordBatchOutput', FailedPutCount: 0, Other: 'kept' },
      { RequestResponses: [{ __type: 'Entry', RecordId: 'a', Other: 'kept' }] },
      { FailedPutCount: 1.5, Encrypted: 'yes', RequestResponses: [{ RecordId: 7, ErrorCode: { nested: true } }] },
      {}, [], 'text', 42, null,
    ].map((value) => Buffer.from(JSON.stringify(value)));
    const settings: JsonSettings = { timestampFormat: { useTrait: true, default: 7 }, jsonName: false };
    const fast = new FirehoseJsonCodec(settings).createDeserializer();
    const stock = new JsonShapeDeserializer2(settings);
    let direct = 0;
    for (const body of [...real, ...odd]) {
      const expected: unknown = await stock.read(PutRecordBatchOutput$, Buffer.from(body));
      expect(await fast.read(PutRecordBatchOutput$, Buffer.from(body)), body.toString()).toStrictEqual(expected);
      if (readPutRecordBatchOutput(JSON.parse(body.toString())) !== undefined) direct += 1;
    }
    // Real responses and the well-formed odd ones take the direct reader; the rest the generic walk.
    expect(direct).toBe(real.length + 6);
    // A malformed body fails the same way.
    const broken = Buffer.from('{"FailedPutCount":0,');
    const stockError = await stock.read(PutRecordBatchOutput$, broken).catch((e: unknown) => e);
    await expect(fast.read(PutRecordBatchOutput$, broken)).rejects.toThrow((stockError as Error).message);
  });

  it('returns the stock client\'s output for partial failures, end to end', async () => {
    const { endpoint } = await start({ partialFailureRate: 0.3, seed: 11 });
    const fast = track(createFirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }));
    const stock = track(new FirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }));
    const records = Array.from({ length: 300 }, (_, i) => ({ Data: Buffer.from(`record ${i}`) }));
    const results: PutRecordBatchCommandOutput[] = [];
    for (const client of [fast, stock]) {
      server!.setFaults({ partialFailureRate: 0.3, seed: 11 }); // the same failures for both clients
      results.push(await client.send(new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: records })));
    }
    const [fastResult, stockResult] = results.map(({ $metadata, ...output }) => ({
      ...output,
      // Record ids come from the stand-in's counter: equal in form, not in value.
      RequestResponses: output.RequestResponses?.map(({ RecordId, ...entry }) => ({ ...entry, RecordId: typeof RecordId })),
      $metadata: { httpStatusCode: $metadata.httpStatusCode, attempts: $metadata.attempts },
    }));
    expect(fastResult).toStrictEqual(stockResult);
    const protocol = fast.config.protocol as unknown as { serializer: FirehoseJsonSerializer; deserializer: FirehoseJsonDeserializer };
    expect([protocol.serializer.directWrites, protocol.deserializer.directReads]).toEqual([1, 1]);
    const failed = fastResult!.RequestResponses!.filter((entry) => entry.ErrorCode !== undefined);
    expect(failed.length).toBeGreaterThan(0);
    expect(fastResult!.FailedPutCount).toBe(failed.length);
    expect(failed.every((entry) => entry.ErrorMessage === 'Slow down.' && entry.RecordId === 'undefined')).toBe(true);
    expect(fastResult!.Encrypted).toBe(false);
  });
});
