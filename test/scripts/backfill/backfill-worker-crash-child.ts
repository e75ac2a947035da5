// Child process of the backfill end-to-end test: receives one message from the backfill queue as
// Lambda's poller would, runs the backfill worker on it, and dies (SIGKILL, by its own hand) right
// after the object's first checkpoint mid-object (written once the engine acknowledged its first
// `_bulk` request), while the next request is on its way: a worker crash mid-object.
import './../local/quiet-lambdas.ts';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { sendBulk } from '../../../templates/opensearch-client.ts';
import { backfillWorker, type WorkerSettings } from './backfill-worker.ts';

const settings = JSON.parse(process.env['CRASH_WORKER_SETTINGS']!) as WorkerSettings & { sqsEndpoint: string; queueUrl: string; queueArn: string };
const sqs = new SQSClient({ endpoint: settings.sqsEndpoint, region: 'us-east-2', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const { handler } = await backfillWorker(settings, {
  send: async (client, body, documents) => {
    const items = await sendBulk(client, body, documents);
    process.stdout.write(`bulk acknowledged (${documents} documents)\n`);
    return items;
  },
  checkpoints: (store) => ({
    claim: (object, owner, leaseUntil) => store.claim(object, owner, leaseUntil),
    async commit(object, owner, checkpoint, options) {
      await store.commit(object, owner, checkpoint, options);
      if (checkpoint.done || checkpoint.lines === 0) return;
      process.stdout.write(`checkpoint ${JSON.stringify({ key: object.key, lines: checkpoint.lines })}: crashing\n`);
      process.kill(process.pid, 'SIGKILL');
    },
  }),
});
let received;
do {
  received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: settings.queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
} while (!received.Messages?.length);
const m = received.Messages[0]!;
process.stdout.write(`received ${m.MessageId}\n`);
const record: SQSRecord = {
  messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body!, attributes: m.Attributes as unknown as SQSRecord['attributes'],
  messageAttributes: {}, md5OfBody: m.MD5OfBody!, eventSource: 'aws:sqs', eventSourceARN: settings.queueArn, awsRegion: 'us-east-2',
};
// A short invocation (8 s left): the object's checkpoint lease outlives the crash by that plus 5 s, as a
// crashed Lambda's lease outlives it until its timeout.
await handler({ Records: [record] }, { getRemainingTimeInMillis: () => 8_000 } as unknown as Context);
process.stdout.write('finished without crashing\n');
