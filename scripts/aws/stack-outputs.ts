// A deployed stack's CloudFormation outputs (DescribeStacks), for the commands that act on a stack by name.
// The SDK's default client: the default credential chain and region, and AWS_ENDPOINT_URL_CLOUDFORMATION
// points it at a loopback stand-in in tests.

/** Output key -> value of stack `name`; throws with the stack named when it cannot be read. */
export async function stackOutputs(name: string): Promise<Map<string, string>> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient({});
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: name }));
    return new Map((out.Stacks?.[0]?.Outputs ?? []).flatMap((o) => (o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue] as const] : [])));
  } finally {
    client.destroy();
  }
}
