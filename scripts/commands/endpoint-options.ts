// The OpenSearch connection options shared by every command that talks to a cluster
// (setup-templates, backfill, ...). Secrets come from the environment only, never
// from the command line, so they do not end up in shell history or `ps`.
import { Option, type Command } from 'commander';
import type { Client } from '@opensearch-project/opensearch';
import type { OpenSearchConnectionOptions } from '../../templates/opensearch-client.ts';

export interface EndpointCliOptions {
  endpoint?: string;
  region?: string;
  sigv4?: boolean;
  insecure?: boolean;
}

export function addEndpointOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--endpoint <url>', 'OpenSearch endpoint (Amazon OpenSearch Service endpoints are signed with SigV4)').env(
        'OPENSEARCH_URL',
      ),
    )
    .option('--region <region>', 'AWS region for SigV4 (default: from the endpoint host, else AWS_REGION)')
    .option('--sigv4', 'sign requests with SigV4 even though the endpoint is not an *.amazonaws.com host')
    .option('--insecure', 'accept a self-signed TLS certificate (local clusters only)')
    .addHelpText(
      'after',
      '\nBasic auth for non-AWS endpoints: OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD.\n' +
        'SigV4 credentials: the standard AWS chain (AWS_PROFILE, environment, SSO, instance/task role).',
    );
}

export function connectionFromOptions(
  options: EndpointCliOptions,
  env: NodeJS.ProcessEnv = process.env,
): OpenSearchConnectionOptions {
  if (!options.endpoint) {
    throw new Error('No OpenSearch endpoint: pass --endpoint <url> or set OPENSEARCH_URL');
  }
  return {
    endpoint: options.endpoint,
    ...(options.region ? { region: options.region } : {}),
    ...(env.OPENSEARCH_USERNAME ? { username: env.OPENSEARCH_USERNAME, password: env.OPENSEARCH_PASSWORD ?? '' } : {}),
    ...(options.sigv4 ? { sigv4: true } : {}),
    ...(options.insecure ? { insecure: true } : {}),
  };
}

/** Imports the OpenSearch client (and the AWS credential chain) only now: `--help` does not need them. */
export async function clientFromOptions(options: EndpointCliOptions): Promise<{ client: Client; connection: OpenSearchConnectionOptions; authDescription: string }> {
  const { createOpenSearchClient, describeAuth, resolveAuth } = await import('../../templates/opensearch-client.ts');
  const connection = connectionFromOptions(options);
  const authDescription = describeAuth(resolveAuth(connection));
  return { client: createOpenSearchClient(connection), connection, authDescription };
}
