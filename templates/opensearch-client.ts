// One way to build an OpenSearch client for every Albatross tool: Amazon OpenSearch
// Service endpoints are signed with SigV4 (credentials from the standard AWS chain),
// everything else uses basic auth when a username is given, or no auth at all. Also the one
// `_bulk` call (sendBulk) that the backfill and the local delivery stream share.
import { Client, type ClientOptions } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';

export interface OpenSearchConnectionOptions {
  endpoint: string;
  /** AWS region for SigV4; default: parsed from the endpoint host, else AWS_REGION / AWS_DEFAULT_REGION. */
  region?: string;
  username?: string;
  password?: string;
  /** Force SigV4 for an endpoint that does not look like Amazon OpenSearch (a custom domain name). */
  sigv4?: boolean;
  /** Accept self-signed certificates (local docker clusters). */
  insecure?: boolean;
  requestTimeoutMs?: number;
}

export type AuthMode =
  | { kind: 'sigv4'; region: string; service: 'es' | 'aoss' }
  | { kind: 'basic'; username: string }
  | { kind: 'none' };

// search-<domain>-<id>.<region>.es.amazonaws.com, vpc-…, <id>.<region>.aoss.amazonaws.com, and the .cn partitions.
const AWS_ENDPOINT = /\.([a-z]{2}(?:-[a-z]+)+-\d)\.(es|aoss)\.amazonaws\.com(?:\.cn)?$/;

export function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`Invalid OpenSearch endpoint "${endpoint}": expected a URL such as https://search-example.eu-west-1.es.amazonaws.com or http://127.0.0.1:9200`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`Invalid OpenSearch endpoint "${endpoint}": the scheme must be http or https`);
  }
  return url;
}

/** Decides how requests to `options.endpoint` are authenticated, without creating a client. */
export function resolveAuth(options: OpenSearchConnectionOptions, env: NodeJS.ProcessEnv = process.env): AuthMode {
  const url = parseEndpoint(options.endpoint);
  const aws = AWS_ENDPOINT.exec(url.hostname);
  if (aws || options.sigv4) {
    const region = options.region ?? aws?.[1] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) {
      throw new Error(`Cannot sign requests to ${url.host}: no AWS region (pass --region or set AWS_REGION)`);
    }
    return { kind: 'sigv4', region, service: aws?.[2] === 'aoss' ? 'aoss' : 'es' };
  }
  const username = options.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
  return username ? { kind: 'basic', username } : { kind: 'none' };
}

export function describeAuth(auth: AuthMode): string {
  switch (auth.kind) {
    case 'sigv4':
      return `AWS SigV4 (service ${auth.service}, region ${auth.region})`;
    case 'basic':
      return `basic auth as "${auth.username}"`;
    case 'none':
      return 'no authentication';
  }
}

export function createOpenSearchClient(options: OpenSearchConnectionOptions): Client {
  const auth = resolveAuth(options);
  const url = parseEndpoint(options.endpoint);
  const common: ClientOptions = {
    requestTimeout: options.requestTimeoutMs ?? 60_000,
    ...(options.insecure ? { ssl: { rejectUnauthorized: false } } : {}),
  };
  if (auth.kind === 'sigv4') {
    const credentials = fromNodeProviderChain();
    return new Client({
      ...AwsSigv4Signer({ region: auth.region, service: auth.service, getCredentials: () => credentials() }),
      ...common,
      node: url.origin,
    });
  }
  if (auth.kind === 'basic' && options.username !== undefined) {
    url.username = '';
    url.password = '';
    return new Client({
      ...common,
      node: url.toString(),
      auth: { username: options.username, password: options.password ?? '' },
    });
  }
  // Credentials embedded in the URL (if any) are used by the client as basic auth.
  return new Client({ ...common, node: url.toString() });
}

export interface BulkItem { status: number; error?: { type?: string; reason?: string } }

/** One `_bulk` request of a ready NDJSON body, without client retries; the item of each document, in order. */
export async function sendBulk(client: Client, body: Buffer, documents: number): Promise<BulkItem[]> {
  // A ready NDJSON Buffer is passed through as is (bulkBody); the typings only know arrays.
  const response = await client.bulk({ body, filter_path: 'errors,items.*.status,items.*.error' } as never, { maxRetries: 0, requestTimeout: 120_000 });
  const items = ((response.body as { items?: Record<string, BulkItem>[] }).items ?? []).map((i) => Object.values(i)[0]!);
  if (items.length !== documents) throw new Error(`_bulk answered ${items.length} items for ${documents} documents`);
  return items;
}
