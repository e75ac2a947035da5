// How `--on-aws` finds the stack's backfill queue and table: CloudFormation DescribeStacks through the
// real SDK client, pointed by the SDK's own AWS_ENDPOINT_URL_CLOUDFORMATION variable at a loopback
// stand-in that answers in CloudFormation's wire format (query protocol, XML), as the CLI is
// pointed at stand-ins in the end-to-end test.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stackResources } from '../../../scripts/backfill/on-aws.ts';
import { readBody } from '../../http-stand-in.ts';

let server: Server;
const requests: URLSearchParams[] = [];

function stackXml(name: string, outputs: Record<string, string>): string {
  const members = Object.entries(outputs).map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`).join('');
  return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
    `<StackName>${name}</StackName><StackId>arn:aws:cloudformation:us-east-2:123456789012:stack/${name}/1</StackId>` +
    `<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>` +
    `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeStacksResponse>`;
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const form = new URLSearchParams((await readBody(request)).toString('utf8'));
    requests.push(form);
    const name = form.get('StackName');
    response.setHeader('content-type', 'text/xml');
    if (form.get('Action') !== 'DescribeStacks' || (name !== 'Albatross' && name !== 'Old')) {
      response.statusCode = 400;
      return response.end(`<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>r2</RequestId></ErrorResponse>`);
    }
    response.end(name === 'Old'
      ? stackXml(name, { QueueUrl: 'https://sqs/live' })
      : stackXml(name, { QueueUrl: 'https://sqs/live', BackfillQueueUrl: 'https://sqs.us-east-2.amazonaws.com/123456789012/Albatross-Backfill', BackfillTableName: 'Albatross-Progress' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  vi.stubEnv('AWS_ENDPOINT_URL_CLOUDFORMATION', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  vi.stubEnv('AWS_REGION', 'us-east-2');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise<void>((resolve) => server.close(() => resolve()));
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
