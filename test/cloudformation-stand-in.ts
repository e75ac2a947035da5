// CloudFormation's DescribeStacks on loopback, in its wire format (query protocol, XML answers), for the commands
// that read a deployed stack's outputs. The real SDK client reaches it through AWS_ENDPOINT_URL_CLOUDFORMATION.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './http-stand-in.ts';

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function stackXml(name: string, outputs: Record<string, string>): string {
  const members = Object.entries(outputs).map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${escapeXml(value)}</OutputValue></member>`).join('');
  return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
    `<StackName>${name}</StackName><StackId>arn:aws:cloudformation:us-east-2:123456789012:stack/${name}/1</StackId>` +
    `<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>` +
    `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeStacksResponse>`;
}

export interface CloudFormationStandIn {
  endpoint: string;
  /** Every request's form parameters. */
  requests: URLSearchParams[];
  close(): Promise<void>;
}

/** Answers DescribeStacks for `stacks` (name -> outputs), and ValidationError "does not exist" for any other name. */
export async function startCloudFormationStandIn(stacks: Record<string, Record<string, string>>): Promise<CloudFormationStandIn> {
  const requests: URLSearchParams[] = [];
  const server = createServer(async (request, response) => {
    const form = new URLSearchParams((await readBody(request)).toString('utf8'));
    requests.push(form);
    const name = form.get('StackName') ?? '';
    response.setHeader('content-type', 'text/xml');
    const outputs = stacks[name];
    if (form.get('Action') !== 'DescribeStacks' || outputs === undefined) {
      response.statusCode = 400;
      return response.end(`<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${escapeXml(name)} does not exist</Message></Error><RequestId>r2</RequestId></ErrorResponse>`);
    }
    response.end(stackXml(name, outputs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
