// How `--on-aws` finds the stack's backfill queue and table: CloudFormation DescribeStacks through the
// real SDK client, pointed by the SDK's own AWS_ENDPOINT_URL_CLOUDFORMATION variable at a loopback
// stand-in that answers in CloudFormation's wire format (query protocol, XML), as the CLI is
// pointed at stand-ins in the end-to-end test.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stackResources } from '../../../scripts/backfill/on-aws.ts';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../../cloudformation-stand-in.ts';

let cloudFormation: CloudFormationStandIn;
let requests: URLSearchParams[];

beforeAll(async () => {
  cloudFormation = await startCloudFormationStandIn({
    Old: { QueueUrl: 'https://sqs/live' },
    Albatross: { QueueUrl: 'https://sqs/live', BackfillQueueUrl: 'https://sqs.us-east-2.amazonaws.com/123456789012/Albatross-Backfill', BackfillTableName: 'Albatross-Progress' },
  });
  requests = cloudFormation.requests;
  vi.stubEnv('AWS_ENDPOINT_URL_CLOUDFORMATION', cloudFormation.endpoint);
  vi.stubEnv('AWS_REGION', 'us-east-2');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await cloudFormation.close();
});

describe('stackResources', () => {
  it('reads the backfill queue and table from the stack\'s outputs', async () => {
    expect(await stackResources({ stack: 'Albatross' })).toEqual({
      queueUrl: 'https://sqs.us-east-2.amazonaws.com/123456789012/Albatross-Backfill', tableName: 'Albatross-Progress',
    });
    expect(requests.at(-1)?.get('StackName')).toBe('Albatross');
  });

  it('takes explicit ones without asking CloudFormation, and fills in one missing from the outputs', async () => {
    const before = requests.length;
    expect(await stackResources({ stack: 'Nope', queueUrl: 'http://q', tableName: 't' })).toEqual({ queueUrl: 'http://q', tableName: 't' });
    expect(requests.length).toBe(before);
    expect(await stackResources({ stack: 'Albatross', tableName: 'mine' })).toMatchObject({ tableName: 'mine', queueUrl: expect.stringContaining('Albatross-Backfill') });
  });

  it('says what is wrong with a stack without the outputs, or no such stack', async () => {
    await expect(stackResources({ stack: 'Old' })).rejects.toThrow(/stack Old has no BackfillQueueUrl \/ BackfillTableName outputs: deploy this version/);
    await expect(stackResources({ stack: 'Missing' })).rejects.toThrow(/Stack with id Missing does not exist/);
  });
});
