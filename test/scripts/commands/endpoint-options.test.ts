import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addEndpointOptions, connectionFromOptions, type EndpointCliOptions } from '../../../scripts/commands/endpoint-options.ts';
import { resolveAuth } from '../../../templates/opensearch-client.ts';

function parse(args: string[], env: NodeJS.ProcessEnv): EndpointCliOptions {
  const saved = process.env;
  process.env = env;
  try {
    const command = addEndpointOptions(new Command('x').exitOverride());
    command.parse(args, { from: 'user' });
    return command.opts<EndpointCliOptions>();
  } finally {
    process.env = saved;
  }
}

describe('endpoint options', () => {
  it('takes the endpoint from --endpoint, else OPENSEARCH_URL', () => {
    expect(parse(['--endpoint', 'http://a:9200'], { OPENSEARCH_URL: 'http://b:9200' }).endpoint).toBe('http://a:9200');
    expect(parse([], { OPENSEARCH_URL: 'http://b:9200' }).endpoint).toBe('http://b:9200');
    expect(() => connectionFromOptions(parse([], {}), {})).toThrow('No OpenSearch endpoint: pass --endpoint <url> or set OPENSEARCH_URL');
  });

  it('reads basic-auth credentials from the environment only', () => {
    const connection = connectionFromOptions({ endpoint: 'https://localhost:9200', insecure: true }, { OPENSEARCH_USERNAME: 'admin', OPENSEARCH_PASSWORD: 'pw' });
    expect(connection).toEqual({ endpoint: 'https://localhost:9200', username: 'admin', password: 'pw', insecure: true });
  });

  it('keeps the region of an AWS endpoint even when AWS_REGION names another', () => {
    const env = { AWS_REGION: 'us-east-1' };
    const connection = connectionFromOptions(parse(['--endpoint', 'https://search-x-abc.eu-west-1.es.amazonaws.com'], env), env);
    expect(resolveAuth(connection, env)).toEqual({ kind: 'sigv4', region: 'eu-west-1', service: 'es' });
    const forced = connectionFromOptions(parse(['--endpoint', 'https://logs.example.com', '--sigv4', '--region', 'eu-central-1'], env), env);
    expect(resolveAuth(forced, env)).toEqual({ kind: 'sigv4', region: 'eu-central-1', service: 'es' });
  });
});
