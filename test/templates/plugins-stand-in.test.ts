// The embedded engine has no ISM and no security plugin, so their success paths cannot
// run on it. This loopback server stands in for exactly those two REST APIs, with the
// documented semantics the installer depends on (ISM updates need if_seq_no/if_primary_term,
// a PUT of a role mapping replaces it), and forwards every other request to the real
// engine — templates, indices and the verification stay real.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@opensearch-project/opensearch';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import { installTemplates, type InstallReport } from '../../templates/install.ts';
import { removeIndicesAndTemplates } from '../opensearch-cleanup.ts';
import { forwardToEngine, readBody } from '../http-stand-in.ts';

const engine = process.env.OPENSEARCH_URL!;
const prefix = `t7-plugins-${process.pid}`;
const roleArn = 'arn:aws:iam::123456789012:role/albatross-firehose';

interface StoredPolicy { policy: Record<string, any>; seqNo: number; primaryTerm: number }
const policies = new Map<string, StoredPolicy>();
const managed = new Map<string, string>(); // index -> policy id
const roles = new Map<string, Record<string, unknown>>();
const mappings = new Map<string, Record<string, unknown>>();
const writes: string[] = [];
let server: Server;
let client: Client;
let direct: Client;

async function matchingIndices(pattern: string): Promise<string[]> {
  const response = await fetch(`${engine}/_cat/indices/${pattern}?format=json&h=index`);
  return response.ok ? ((await response.json()) as { index: string }[]).map((i) => i.index) : [];
}

async function handlePlugin(method: string, url: URL, body: any): Promise<[number, unknown]> {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (method !== 'GET') writes.push(`${method} ${url.pathname}${url.search}`);
  if (parts[1] === '_ism' && parts[2] === 'policies') {
    const id = parts[3]!;
    const current = policies.get(id);
    if (method === 'GET') {
      if (!current) return [404, { error: { root_cause: [{ type: 'status_exception', reason: 'Policy not found' }] }, status: 404 }];
      return [200, { _id: id, _version: current.seqNo + 1, _seq_no: current.seqNo, _primary_term: current.primaryTerm, policy: { policy_id: id, last_updated_time: Date.now(), schema_version: 21, error_notification: null, ...current.policy } }];
    }
    const seqNo = url.searchParams.get('if_seq_no');
    if (current && (seqNo === null || Number(seqNo) !== current.seqNo || Number(url.searchParams.get('if_primary_term')) !== current.primaryTerm)) {
      return [409, { error: { type: 'version_conflict_engine_exception', reason: 'version conflict' }, status: 409 }];
    }
    policies.set(id, { policy: body.policy, seqNo: current ? current.seqNo + 1 : 0, primaryTerm: 1 });
    return [current ? 200 : 201, { _id: id }];
  }
  if (parts[1] === '_ism' && (parts[2] === 'add' || parts[2] === 'change_policy')) {
    const indices = await matchingIndices(parts[3]!);
    const failed: { index_name: string; reason: string }[] = [];
    let updated = 0;
    for (const index of indices) {
      if (parts[2] === 'add' && managed.has(index)) failed.push({ index_name: index, reason: 'This index already has a policy, use the update policy API to update index policies.' });
      else if (parts[2] === 'change_policy' && !managed.has(index)) failed.push({ index_name: index, reason: 'This index does not have a policy' });
      else {
        managed.set(index, body.policy_id);
        updated++;
      }
    }
    return [200, { updated_indices: updated, failures: failed.length > 0, failed_indices: failed }];
  }
  if (parts[1] === '_security' && (parts[3] === 'roles' || parts[3] === 'rolesmapping')) {
    const store = parts[3] === 'roles' ? roles : mappings;
    const name = parts[4]!;
    if (method === 'GET') {
      const found = store.get(name);
      return found ? [200, { [name]: { reserved: false, hidden: false, static: false, ...found } }] : [404, { status: 'NOT_FOUND', message: `Resource '${name}' not found.` }];
    }
    const existed = store.has(name);
    const stored =
      parts[3] === 'roles'
        ? { ...body, tenant_permissions: [], index_permissions: body.index_permissions.map((p: object) => ({ ...p, fls: [], masked_fields: [] })) }
        : { hosts: [], users: [], and_backend_roles: [], ...body };
    store.set(name, stored);
    return [existed ? 200 : 201, { status: existed ? 'OK' : 'CREATED', message: `'${name}' ${existed ? 'updated' : 'created'}.` }];
  }
  return [400, { error: `no handler found for uri [${url.pathname}] and method [${method}]` }];
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const url = new URL(req.url!, 'http://localhost');
    if (url.pathname.startsWith('/_plugins/')) {
      const [status, body] = await handlePlugin(req.method!, url, raw.length ? JSON.parse(raw.toString()) : undefined);
      res.writeHead(status, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(body));
    }
    return forwardToEngine(engine, req, raw, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = createOpenSearchClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  direct = createOpenSearchClient({ endpoint: engine });
  // Someone already mapped a user and another IAM role to the Firehose role name.
  mappings.set(`${prefix}-firehose`, { backend_roles: ['arn:aws:iam::123456789012:role/other'], users: ['ops'], hosts: [], and_backend_roles: [] });
  // An index that existed before the policy: ism_template does not catch it.
  await direct.indices.create({ index: `${prefix}-2031-04-01` });
});

afterAll(async () => {
  await removeIndicesAndTemplates(direct, prefix);
  await client.close();
  await direct.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const outcome = (report: InstallReport, start: string) => report.steps.filter((s) => s.step.startsWith(start)).map((s) => s.outcome);

// One test for the whole story (first run, second run, changed retention): each step starts from
// the state the previous one left, so they cannot be separate tests that run in any order.
describe('installTemplates with the ISM and security APIs present', () => {
  it('creates the policy, attaches it to existing indices, creates the role and merges the mapping; a second run writes nothing; a new retention updates the policy', async () => {
    // First run.
    const report = await installTemplates(client, { indexPrefix: prefix, replicas: 0, retentionDays: 14, firehoseRoleArn: roleArn });
    expect(outcome(report, 'ISM policy')).toEqual(['created', 'updated']);
    expect(report.steps.find((s) => s.step.startsWith(`ISM policy ${prefix}-retention on existing`))!.detail).toBe('attached to 1 indices');
    expect(managed.get(`${prefix}-2031-04-01`)).toBe(`${prefix}-retention`);
    const policy = policies.get(`${prefix}-retention`)!.policy;
    expect(policy.states[0].transitions[0].conditions.min_index_age).toBe('14d');
    expect(policy.ism_template).toEqual([{ index_patterns: [`${prefix}-*`], priority: 200 }]);
    expect(outcome(report, 'security role')).toEqual(['created']);
    expect(roles.get(`${prefix}-firehose`)).toMatchObject({ cluster_permissions: ['cluster_composite_ops', 'cluster_monitor'], index_permissions: [{ index_patterns: [`${prefix}*`], allowed_actions: ['create_index', 'manage', 'crud'] }] });
    expect(outcome(report, 'role mapping')).toEqual(['updated']);
    expect(mappings.get(`${prefix}-firehose`)).toEqual({ backend_roles: ['arn:aws:iam::123456789012:role/other', roleArn], users: ['ops'], hosts: [], and_backend_roles: [] });

    // A second run writes nothing.
    writes.length = 0;
    const again = await installTemplates(client, { indexPrefix: prefix, replicas: 0, retentionDays: 14, firehoseRoleArn: roleArn });
    expect(again.changed).toBe(false);
    expect(again.steps.every((s) => s.outcome === 'unchanged')).toBe(true);
    // Only the idempotent "attach to unmanaged indices" call, which found nothing to attach.
    expect(writes).toEqual([`POST /_plugins/_ism/add/${prefix}-*`]);

    // A new retention updates the policy with its sequence number (one write so far) and switches managed indices.
    writes.length = 0;
    const changed = await installTemplates(client, { indexPrefix: prefix, replicas: 0, retentionDays: 7, firehoseRoleArn: roleArn });
    expect(outcome(changed, 'ISM policy')).toEqual(['updated', 'updated']);
    expect(writes).toEqual([
      `PUT /_plugins/_ism/policies/${prefix}-retention?if_seq_no=0&if_primary_term=1`,
      `POST /_plugins/_ism/change_policy/${prefix}-*`,
      `POST /_plugins/_ism/add/${prefix}-*`,
    ]);
    expect(policies.get(`${prefix}-retention`)!.policy.states[0].transitions[0].conditions.min_index_age).toBe('7d');
    expect(outcome(changed, 'component template')).toEqual(['unchanged', 'unchanged']);
  });
});
