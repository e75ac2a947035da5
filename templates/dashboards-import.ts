// Talks to the OpenSearch Dashboards saved-objects API. On Amazon OpenSearch
// Service Dashboards lives on the domain's own host under /_dashboards, so the
// request goes through the (SigV4-signed) OpenSearch client; a self-managed
// Dashboards on another host is reached with fetch and basic auth.
import type { Client } from '@opensearch-project/opensearch';
import type { SavedObject } from './dashboards.ts';

export type DashboardsTarget =
  | { kind: 'opensearch-client'; basePath: string; url: string }
  | { kind: 'http'; url: string; username?: string; password?: string };

export interface ImportResult {
  success: boolean;
  successCount: number;
  errors?: { id: string; type: string; error: { type: string; message?: string } }[];
}

interface BulkGetResult {
  saved_objects: { id: string; type: string; attributes?: Record<string, unknown>; references?: unknown[]; error?: { statusCode: number } }[];
}

/** Chooses the transport: same origin as OpenSearch -> through the OpenSearch client (keeps SigV4). */
export function dashboardsTarget(dashboardsUrl: string, openSearchEndpoint: string, auth: { username?: string; password?: string }): DashboardsTarget {
  let url: URL;
  try {
    url = new URL(dashboardsUrl);
  } catch {
    throw new Error(`Invalid Dashboards URL "${dashboardsUrl}": expected e.g. https://search-example.eu-west-1.es.amazonaws.com/_dashboards or http://127.0.0.1:5601`);
  }
  const base = url.pathname.replace(/\/+$/, '');
  if (url.origin === new URL(openSearchEndpoint).origin) return { kind: 'opensearch-client', basePath: base, url: url.origin + base };
  return { kind: 'http', url: url.origin + base, ...(auth.username ? { username: auth.username, password: auth.password ?? '' } : {}) };
}

// `osd-xsrf` is required on every write; `securitytenant: global` puts the objects in the
// global tenant when multi-tenancy is on (the query-string form is rejected) and is ignored otherwise.
const COMMON_HEADERS = { 'osd-xsrf': 'true', securitytenant: 'global' };

function multipart(ndjson: string): { body: Buffer; contentType: string } {
  const boundary = `----albatross${Date.now().toString(16)}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="albatross.ndjson"\r\nContent-Type: application/ndjson\r\n\r\n`),
    Buffer.from(ndjson),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

async function request<T>(target: DashboardsTarget, client: Client, method: 'POST', path: string, payload: { json?: unknown; ndjson?: string }, querystring = ''): Promise<T> {
  const encoded = payload.ndjson !== undefined ? multipart(payload.ndjson) : { body: Buffer.from(JSON.stringify(payload.json)), contentType: 'application/json' };
  if (target.kind === 'opensearch-client') {
    const response = await client.transport.request(
      { method, path: `${target.basePath}${path}`, body: encoded.body, ...(querystring ? { querystring } : {}) },
      { headers: { ...COMMON_HEADERS, 'content-type': encoded.contentType } },
    );
    return response.body as T;
  }
  const headers: Record<string, string> = { ...COMMON_HEADERS, 'content-type': encoded.contentType };
  if (target.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}`;
  let response: Response;
  try {
    response = await fetch(`${target.url}${path}${querystring ? `?${querystring}` : ''}`, { method, headers, body: encoded.body });
  } catch (error) {
    throw new Error(`Cannot reach OpenSearch Dashboards at ${target.url}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`);
  }
  const text = await response.text();
  if (response.status === 401 || response.status === 403) {
    throw new Error(`OpenSearch Dashboards at ${target.url} refused the request (${response.status}): check OPENSEARCH_USERNAME/OPENSEARCH_PASSWORD and the user's permissions`);
  }
  if (!response.ok) throw new Error(`OpenSearch Dashboards ${method} ${path} failed with ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** True when every object already exists with the attributes and references we would import. */
export async function savedObjectsUpToDate(target: DashboardsTarget, client: Client, objects: readonly SavedObject[]): Promise<boolean> {
  const result = await request<BulkGetResult>(target, client, 'POST', '/api/saved_objects/_bulk_get', { json: objects.map(({ id, type }) => ({ id, type })) });
  return objects.every((wanted) => {
    const found = result.saved_objects.find((o) => o.id === wanted.id && o.type === wanted.type);
    if (!found || found.error || !found.attributes) return false;
    // Compare only what we set: Dashboards adds its own attributes (e.g. an index pattern's field list).
    const sameAttributes = Object.entries(wanted.attributes).every(([key, value]) => JSON.stringify(found.attributes![key]) === JSON.stringify(value));
    return sameAttributes && JSON.stringify(found.references ?? []) === JSON.stringify(wanted.references);
  });
}

export async function importSavedObjects(target: DashboardsTarget, client: Client, ndjson: string): Promise<ImportResult> {
  const result = await request<ImportResult>(target, client, 'POST', '/api/saved_objects/_import', { ndjson }, 'overwrite=true');
  if (!result.success) {
    const details = (result.errors ?? []).map((e) => `${e.type} ${e.id}: ${e.error.type}${e.error.message ? ` (${e.error.message})` : ''}`).join('; ');
    throw new Error(`Dashboards import failed: ${details || 'no details returned'}`);
  }
  return result;
}
