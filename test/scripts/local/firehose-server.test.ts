// The Firehose stand-in through the unmodified @aws-sdk/client-firehose.
import {
  FirehoseClient, InvalidArgumentException, PutRecordBatchCommand, PutRecordCommand, ResourceNotFoundException,
  ServiceUnavailableException,
} from '@aws-sdk/client-firehose';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalFirehose, type FirehoseFaults, type LocalFirehose } from '../../../scripts/local/firehose-server.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let server: LocalFirehose | undefined;
let client: FirehoseClient | undefined;
afterEach(async () => {
  client?.destroy();
  await server?.stop();
});

async function start(faults?: FirehoseFaults) {
  const accepted: Array<{ stream: string; records: string[] }> = [];
  server = await startLocalFirehose({
    sink: { accept: async (stream, records) => { accepted.push({ stream, records: records.map((r) => Buffer.from(r.base64, 'base64').toString()) }); } },
    streams: ['alb-logs'],
    ...(faults ? { faults } : {}),
  });
  client = new FirehoseClient({ endpoint: server.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  return { accepted, server, client };
}

const records = (n: number, size = 10) => Array.from({ length: n }, (_, i) => ({ Data: Buffer.from(String(i).padStart(size, '0')) }));

describe('local Firehose', () => {
  it('accepts PutRecordBatch and PutRecord with the real response shapes, records in order', async () => {
    const { accepted, client, server } = await start();
    const batch = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'alb-logs', Records: records(3) }));
    expect(batch.FailedPutCount).toBe(0);
    expect(batch.Encrypted).toBe(false);
    expect(batch.RequestResponses).toHaveLength(3);
    expect(new Set(batch.RequestResponses!.map((r) => r.RecordId)).size).toBe(3);
    const single = await client.send(new PutRecordCommand({ DeliveryStreamName: 'alb-logs', Record: { Data: Buffer.from('\x1ehello\nworld') } }));
    expect(single.RecordId).toMatch(/^[0-9a-f]{32}$/);
    expect(accepted).toEqual([
      { stream: 'alb-logs', records: ['0000000000', '0000000001', '0000000002'] },
      { stream: 'alb-logs', records: ['\x1ehello\nworld'] },
    ]);
    expect(server.stats).toEqual({ calls: 2, throttled: 0, recordsAccepted: 4, recordsFailed: 0 });
  });

  it('rejects calls over the service limits like Firehose does', async () => {
    const { client, accepted } = await start();
    const send = (r: Array<{ Data: Uint8Array }>) => client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'alb-logs', Records: r }))
      .then(() => undefined, (e: unknown) => e as Error);
    const tooMany = await send(records(501));
    expect(tooMany?.name).toBe('ValidationException');
    expect(tooMany?.message).toMatch(/at 'records' failed to satisfy constraint: Member must have length less than or equal to 500/);
    const tooLarge = await send([{ Data: Buffer.alloc(10) }, { Data: Buffer.alloc(1_024_001) }]);
    expect(tooLarge?.name).toBe('ValidationException');
    expect(tooLarge?.message).toMatch(/at 'records.2.member.data' .* less than or equal to 1024000/);
    const tooBig = await send(Array.from({ length: 5 }, () => ({ Data: Buffer.alloc(900_000) })));
    expect(tooBig).toBeInstanceOf(InvalidArgumentException);
    expect(tooBig?.message).toBe('Records size exceeds 4 MB limit');
    // Exactly at the limits is fine.
    expect(await send(Array.from({ length: 4 }, () => ({ Data: Buffer.alloc(1_024_000) })))).toBeUndefined();
    expect(await send(records(500))).toBeUndefined();
    const unknown = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'nope', Records: records(1) })).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ResourceNotFoundException);
    expect(accepted).toHaveLength(2);
  });

  it('throttles whole calls with a 503 ServiceUnavailableException', async () => {
    const { client, accepted, server } = await start({ throttleRate: 1 });
    const error = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'alb-logs', Records: records(2) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect((error as ServiceUnavailableException).$metadata.httpStatusCode).toBe(503);
    expect((error as Error).message).toBe('Slow down.');
    expect(accepted).toHaveLength(0);
    expect(server.stats.throttled).toBe(1);
  });

  it('fails single records (FailedPutCount) reproducibly for a seed, passing only the accepted ones on', async () => {
    const run = async () => {
      const { client, accepted } = await start({ partialFailureRate: 0.3, seed: 99 });
      const out = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'alb-logs', Records: records(200) }));
      client.destroy();
      await server!.stop();
      server = undefined;
      return { out, accepted };
    };
    const first = await run();
    const failed = first.out.RequestResponses!.flatMap((r, i) => (r.ErrorCode ? [i] : []));
    expect(first.out.FailedPutCount).toBe(failed.length);
    expect(failed.length).toBeGreaterThan(30);
    expect(failed.length).toBeLessThan(100);
    for (const i of failed) {
      expect(first.out.RequestResponses![i]).toEqual({ ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' });
    }
    const expectedAccepted = records(200).map((r) => r.Data.toString()).filter((_, i) => !failed.includes(i));
    expect(first.accepted.flatMap((a) => a.records)).toEqual(expectedAccepted);
    const second = await run();
    expect(second.out.RequestResponses!.map((r) => Boolean(r.ErrorCode))).toEqual(first.out.RequestResponses!.map((r) => Boolean(r.ErrorCode)));
  });
  it('answers a body whose record data is not base64 text with a SerializationException, accepting nothing', async () => {
    const { accepted, server } = await start();
    // The SDK always sends valid base64, so the malformed body is sent over plain HTTP.
    const post = (body: unknown) => fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Firehose_20150804.PutRecordBatch' },
      body: JSON.stringify(body),
    });
    for (const data of [12, 'abc', null]) {
      const response = await post({ DeliveryStreamName: 'alb-logs', Records: [{ Data: 'aGVsbG8=' }, { Data: data }] });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ __type: 'SerializationException', message: 'Records.1.Data must be a base64 string' });
    }
    expect(accepted).toEqual([]);
  });
});
