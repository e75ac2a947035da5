// Installs everything the <prefix>-YYYY-MM-DD indices need, idempotently: component
// templates, the index template, the ISM retention policy, the fields the schema added to the
// mappings of existing indices, optionally the Firehose and Dashboards-reader security roles and
// the Dashboards saved objects, then verifies the result by simulating a new daily index. Shared by `albatross setup-templates` and the CDK
// custom resource, so it never prints or exits: it logs through `options.log`,
// returns a report and throws InstallError with a message meant for humans.
import type { Client } from '@opensearch-project/opensearch';
import { LOG_TYPE_SPECS, LOG_TYPES, type LogType } from '../transform/log-types.ts';
import { buildMappings, flattenMappingTypes, type IndexMappings } from '../transform/schema/mapping.ts';
import {
  ADMIN_ROLE,
  countMappedFields,
  DASHBOARDS_USER_ROLE,
  TOTAL_FIELDS_HEADROOM,
  DEFAULT_TEMPLATE_OPTIONS,
  TEMPLATE_VERSION,
  names,
  renderTemplates,
  type ComponentTemplate,
  type IndexTemplate,
  type RenderedTemplates,
  type SecurityRole,
  type TemplateOptions,
} from './render.ts';
import { DEFAULT_SLOW_REQUEST_SECONDS, checkSavedObjects, toNdjson, type SavedObject } from './dashboards.ts';
import { renderLogTypeSavedObjects } from './log-type-dashboards.ts';
import { importSavedObjects, savedObjectsUpToDate, type DashboardsTarget } from './dashboards-import.ts';

/** OpenSearch versions the templates are written and tested for (composable templates, date_nanos, _plugins APIs). */
export const SUPPORTED_VERSIONS = { minMajor: 2, maxMajor: 3 } as const;

export interface InstallOptions extends Partial<TemplateOptions> {
  /** Which log type's index family to install (its schema, dashboards and default prefix); default access. */
  logType?: LogType;
  /** IAM role ARN Firehose delivers with: mapped as a backend role to a least-privilege security role. */
  firehoseRoleArn?: string;
  /** IAM role of the replayer Lambda (docs/replay.md): mapped to the same security role as Firehose, which is what bulk writing needs. */
  replayerRoleArn?: string;
  /** IAM role the loader bulk-indexes with in direct delivery: mapped to `<prefix>-loader`. */
  loaderRoleArn?: string;
  /** IAM role of the backfill worker (`albatross backfill --on-aws`): mapped to `<prefix>-loader` too (it indexes as the direct loader does). */
  backfillRoleArn?: string;
  /** IAM role of Dashboards users: mapped to the read-only `<prefix>-dashboards-reader` role and to kibana_user. */
  dashboardsRoleArn?: string;
  /** Also map the Dashboards role to all_access (full admin). Opt-in for operators; off (the default) removes that mapping. */
  dashboardsAdmin?: boolean;
  /**
   * IAM roles of people who administer the domain (the Dashboards admins group's role, a break-glass role): mapped
   * to all_access, security_manager and kibana_user, merged with existing mappings.
   */
  adminRoleArns?: readonly string[];
  /**
   * IAM role of the stack's template installer when it is not the FGAC master: mapped to `<prefix>-installer`
   * (templates, retention, mapping changes; no security API), so later deployments can install on their own.
   */
  installerRoleArn?: string;
  /** Import the Dashboards saved objects there. */
  dashboards?: DashboardsTarget;
  slowRequestSeconds?: number;
  /** Print every request instead of sending it (nothing at all is sent). */
  dryRun?: boolean;
  /** Daily index name the verification simulates; default `<prefix>-<today UTC>`. */
  verifyIndex?: string;
  log?: (line: string) => void;
}

export type StepOutcome = 'created' | 'updated' | 'unchanged' | 'skipped' | 'planned';
export interface StepResult {
  step: string;
  outcome: StepOutcome;
  detail?: string;
}
export interface FieldCheck {
  path: string;
  expected: string;
  actual: string | undefined;
}
export interface Verification {
  index: string;
  fieldsChecked: number;
  mismatches: FieldCheck[];
  keyFields: FieldCheck[];
  overlapping: string[];
}
export interface InstallReport {
  dryRun: boolean;
  version?: string;
  steps: StepResult[];
  /** Whether anything on the cluster (or in Dashboards) changed. */
  changed: boolean;
  verification?: Verification;
  /** Existing <prefix>-* indices whose key fields differ from the template (created before it). */
  staleIndices: string[];
  /** Existing strict <prefix>-* indices that got the schema's new fields (planned ones in a dry run are not listed). */
  mappingUpdates: MappingUpdate[];
  /** Advice that does not stop the run (e.g. more replicas than the cluster can place). */
  warnings: string[];
}

/** Schema fields added to the mapping of one existing index. */
export interface MappingUpdate {
  index: string;
  added: string[];
}

export class InstallError extends Error {
  override name = 'InstallError';
}

/** Fields the verification report lists (all schema fields are checked). */
export const KEY_FIELDS = ['@timestamp', 'source.ip', 'http.response.status_code', 'http.response.bytes', 'event.duration', 'url.original', 'url.original.text', 'user_agent.original', 'aws.elb.backend_processing_time.sec'];
/** The same per log type; the first three also probe existing indices for stale mappings. */
export const KEY_FIELDS_BY_TYPE: Readonly<Record<LogType, readonly string[]>> = {
  access: KEY_FIELDS,
  connection: ['@timestamp', 'source.ip', 'destination.port', 'event.duration', 'tls.client.x509.not_after', 'aws.elb.conn_trace_id', 'aws.elb.node.ip'],
  health: ['@timestamp', 'destination.ip', 'http.response.status_code', 'event.duration', 'aws.elb.target_group.id', 'aws.elb.error.reason'],
};

interface Request {
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  body?: unknown;
  querystring?: Record<string, string | number>;
}
interface Response {
  statusCode: number;
  body: any;
}

function errorInfo(error: unknown): { statusCode?: number; body?: any; message: string; code?: string } {
  const e = error as { meta?: { statusCode?: number; body?: any }; message?: string; name?: string };
  return { statusCode: e.meta?.statusCode, body: e.meta?.body, message: e.message ?? String(error), code: e.name };
}

function reasonOf(body: any): string {
  if (!body) return '';
  if (typeof body === 'string') return body.slice(0, 300);
  const root = body.error?.root_cause?.[0] ?? body.error;
  if (typeof root === 'string') return root;
  return root?.reason ?? body.message ?? body.Message ?? JSON.stringify(body).slice(0, 300);
}

const MANAGE_TEMPLATES_HINT = 'The identity needs to manage templates'
  + ' (and ISM policies / security roles): on Amazon OpenSearch Service allow it in the domain access policy and, with fine-grained access control, map it to all_access or a role with these permissions.';

/**
 * A message that says what failed and what to check, for the usual setup failures. `deniedHint`
 * says what the identity needs when the request is denied (403); the default is setup's.
 */
export function explainError(error: unknown, request: Request, deniedHint = MANAGE_TEMPLATES_HINT): InstallError {
  if (error instanceof InstallError) return error;
  const info = errorInfo(error);
  const what = `${request.method} ${request.path}`;
  if (info.code === 'ConnectionError' || info.code === 'TimeoutError' || info.code === 'NoLivingConnectionsError') {
    return new InstallError(
      `Cannot reach OpenSearch (${what}): ${info.message}. Check the endpoint URL and that this machine can reach it ` +
        '(a VPC domain is reachable only from inside its VPC).',
    );
  }
  if (info.statusCode === 401) {
    return new InstallError(`OpenSearch rejected the credentials (401) on ${what}: ${reasonOf(info.body)}. Check OPENSEARCH_USERNAME/OPENSEARCH_PASSWORD, or the AWS credentials used for SigV4.`);
  }
  if (info.statusCode === 403) {
    return new InstallError(`OpenSearch denied ${what} (403): ${reasonOf(info.body)}. ${deniedHint}`);
  }
  if (info.statusCode !== undefined) return new InstallError(`OpenSearch ${what} failed (${info.statusCode}): ${reasonOf(info.body)}`);
  return new InstallError(`OpenSearch ${what} failed: ${info.message}`);
}

export function parseVersion(info: any): string {
  const version = info?.version;
  const number: string | undefined = version?.number;
  if (!number) throw new InstallError('The endpoint did not return a version: is it an OpenSearch REST endpoint?');
  if (version.distribution !== 'opensearch') {
    throw new InstallError(
      `The endpoint reports version ${number} without distribution "opensearch"; Albatross needs OpenSearch ${SUPPORTED_VERSIONS.minMajor}.x-${SUPPORTED_VERSIONS.maxMajor}.x` +
        ' (Elasticsearch is not supported; on Amazon OpenSearch Service turn off compatibility mode / override_main_response_version).',
    );
  }
  const major = Number(number.split('.')[0]);
  if (!(major >= SUPPORTED_VERSIONS.minMajor && major <= SUPPORTED_VERSIONS.maxMajor)) {
    throw new InstallError(`OpenSearch ${number} is not supported: Albatross needs OpenSearch ${SUPPORTED_VERSIONS.minMajor}.x-${SUPPORTED_VERSIONS.maxMajor}.x.`);
  }
  return number;
}

export function dailyIndexName(prefix: string, date: Date): string {
  return `${prefix}-${date.toISOString().slice(0, 10)}`;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** Built-in roles an administrator's IAM role is mapped to. */
export const ADMIN_ROLES = [ADMIN_ROLE, 'security_manager', DASHBOARDS_USER_ROLE] as const;

const mappingPath = (role: string): string => `/_plugins/_security/api/rolesmapping/${encodeURIComponent(role)}`;

/** A plugin's REST API (ISM, security) is absent: OpenSearch answers an unknown path with "no handler found for uri". */
const isMissingPlugin = (error: unknown): boolean => error instanceof InstallError && /no handler found for uri/i.test(error.message);

/** PUT replaces a whole role mapping: keep the users, hosts and AND-backend roles someone else mapped. */
const mappingBody = (mapping: any, backendRoles: string[]): Record<string, string[]> => ({
  backend_roles: backendRoles,
  hosts: mapping?.hosts ?? [],
  users: mapping?.users ?? [],
  and_backend_roles: mapping?.and_backend_roles ?? [],
});

class Installer {
  readonly steps: StepResult[] = [];
  readonly log: (line: string) => void;

  constructor(
    private readonly client: Client,
    readonly dryRun: boolean,
    log: ((line: string) => void) | undefined,
  ) {
    this.log = log ?? (() => {});
  }

  async send(request: Request, ignore: number[] = []): Promise<Response> {
    try {
      const response = await this.client.transport.request(
        { method: request.method, path: request.path, ...(request.body === undefined ? {} : { body: request.body as Record<string, unknown> }), ...(request.querystring ? { querystring: request.querystring } : {}) },
        { ignore },
      );
      return { statusCode: response.statusCode ?? 0, body: response.body };
    } catch (error) {
      throw explainError(error, request);
    }
  }

  /** Sends a write, or in dry-run mode prints it. */
  async write(request: Request): Promise<Response | undefined> {
    if (this.dryRun) {
      const query = request.querystring ? `?${new URLSearchParams(Object.entries(request.querystring).map(([k, v]): [string, string] => [k, String(v)]))}` : '';
      this.log(`${request.method} ${request.path}${query}${request.body === undefined ? '' : `\n${JSON.stringify(request.body, null, 2)}`}`);
      return undefined;
    }
    return this.send(request);
  }

  record(step: string, outcome: StepOutcome, detail?: string): void {
    this.steps.push({ step, outcome, ...(detail ? { detail } : {}) });
    this.log(`${outcome.padEnd(9)} ${step}${detail ? ` — ${detail}` : ''}`);
  }

  componentTemplate(template: ComponentTemplate): Promise<void> {
    return this.template(`component template ${template.name}`, 'component_template', template);
  }

  indexTemplate(template: IndexTemplate): Promise<void> {
    return this.template(`index template ${template.name} (${template.body.index_patterns.join(', ')}, priority ${template.body.priority})`, 'index_template', template);
  }

  /** PUTs a component or index template unless the cluster already holds one with the same content hash. */
  private async template(step: string, kind: 'component_template' | 'index_template', template: ComponentTemplate | IndexTemplate): Promise<void> {
    const path = `/_${kind}/${encodeURIComponent(template.name)}`;
    const request: Request = { method: 'PUT', path, body: template.body };
    if (this.dryRun) {
      await this.write(request);
      return this.record(step, 'planned');
    }
    const current = await this.send({ method: 'GET', path }, [404]);
    // GET /_component_template/x answers { component_templates: [{ component_template }] }, likewise for index templates.
    const existing = current.statusCode === 404 ? undefined : current.body[`${kind}s`]?.[0]?.[kind];
    const currentHash: unknown = existing?._meta?.content_hash;
    const wantedHash = template.body._meta.content_hash;
    if (existing === undefined) {
      await this.send(request);
      return this.record(step, 'created');
    }
    if (currentHash === wantedHash) return this.record(step, 'unchanged');
    await this.send(request);
    this.record(step, 'updated', `content ${String(currentHash ?? 'not managed by albatross')} -> ${wantedHash}`);
  }

  async ismPolicy(rendered: RenderedTemplates, prefix: string): Promise<void> {
    const { id, body, contentHash } = rendered.ismPolicy;
    const step = `ISM policy ${id} (delete after ${String((body.policy.states as any)[0].transitions[0].conditions.min_index_age)})`;
    const path = `/_plugins/_ism/policies/${encodeURIComponent(id)}`;
    const pattern = names(prefix).indexPattern;
    if (this.dryRun) {
      await this.write({ method: 'PUT', path, body });
      await this.write({ method: 'POST', path: `/_plugins/_ism/add/${pattern}`, body: { policy_id: id } });
      return this.record(step, 'planned', 'then attached to existing indices without a policy');
    }
    let current: Response;
    try {
      current = await this.send({ method: 'GET', path }, [404]);
    } catch (error) {
      if (isMissingPlugin(error)) {
        return this.record(step, 'skipped', `this engine has no ISM plugin (Index State Management): ${pattern} indices are NOT deleted automatically`);
      }
      throw error;
    }
    if (current.statusCode === 404) {
      await this.send({ method: 'PUT', path, body });
      this.record(step, 'created');
    } else if (String(current.body.policy?.description ?? '').includes(contentHash)) {
      this.record(step, 'unchanged');
    } else {
      // Optimistic concurrency: ISM rejects an update without the current sequence number.
      await this.send({ method: 'PUT', path, body, querystring: { if_seq_no: current.body._seq_no, if_primary_term: current.body._primary_term } });
      this.record(step, 'updated');
      // Indices already managed keep the old policy version until told to switch.
      const changed = await this.send({ method: 'POST', path: `/_plugins/_ism/change_policy/${pattern}`, body: { policy_id: id } }, [404]);
      if (changed.body?.updated_indices) this.record(`ISM policy ${id} on existing indices`, 'updated', `${changed.body.updated_indices} managed indices switched to the new version`);
    }
    // ism_template only catches indices created from now on; attach the ones that already exist.
    const added = await this.send({ method: 'POST', path: `/_plugins/_ism/add/${pattern}`, body: { policy_id: id } }, [404]);
    const updated = Number(added.body?.updated_indices ?? 0);
    if (updated > 0) this.record(`ISM policy ${id} on existing ${pattern} indices`, 'updated', `attached to ${updated} indices`);
  }

  /**
   * Creates or updates one of our security roles and maps `roleArn` to it and to the built-in `alsoMapTo` roles.
   * `who` names the users for the message when the engine has no security plugin.
   */
  async securityRole(role: SecurityRole, roleArn: string, who: string, alsoMapTo: readonly string[] = []): Promise<void> {
    const { name, body } = role;
    const rolePath = `/_plugins/_security/api/roles/${encodeURIComponent(name)}`;
    const mapped = [name, ...alsoMapTo];
    if (this.dryRun) {
      await this.write({ method: 'PUT', path: rolePath, body });
      for (const target of mapped) await this.write({ method: 'PUT', path: mappingPath(target), body: { backend_roles: [roleArn] } });
      return this.record(`security role ${name} mapped to ${roleArn}${alsoMapTo.length ? ` (also ${alsoMapTo.join(', ')})` : ''}`, 'planned', 'mappings are merged with existing ones when run');
    }
    let currentRole: Response;
    try {
      currentRole = await this.send({ method: 'GET', path: rolePath }, [404]);
    } catch (error) {
      if (isMissingPlugin(error)) {
        return this.record(`security role ${name}`, 'skipped', `this engine has no security plugin REST API (plugin absent or fine-grained access control off): nothing to map, ${who} access is governed by the domain access policy alone`);
      }
      throw error;
    }
    const existing = currentRole.statusCode === 404 ? undefined : currentRole.body[name];
    const same =
      existing &&
      existing.description === body.description &&
      JSON.stringify([...(existing.cluster_permissions ?? [])].sort()) === JSON.stringify([...body.cluster_permissions].sort()) &&
      JSON.stringify((existing.index_permissions ?? []).map((p: any) => ({ index_patterns: p.index_patterns, allowed_actions: [...p.allowed_actions].sort() }))) ===
        JSON.stringify(body.index_permissions.map((p) => ({ index_patterns: p.index_patterns, allowed_actions: [...p.allowed_actions].sort() })));
    if (same) this.record(`security role ${name}`, 'unchanged');
    else {
      await this.send({ method: 'PUT', path: rolePath, body });
      this.record(`security role ${name}`, existing ? 'updated' : 'created', body.index_permissions[0]!.allowed_actions.join(', '));
    }
    for (const target of mapped) await this.roleMapping(target, roleArn);
  }

  /** Takes `roleArn` out of the backend roles of `role` (keeping everything else), e.g. when an opt-in is turned off. */
  async roleUnmapping(role: string, roleArn: string): Promise<void> {
    const step = `role mapping ${role} without ${roleArn}`;
    const path = mappingPath(role);
    if (this.dryRun) {
      this.log(`GET ${path}, then PUT it without ${roleArn} if it is there`);
      return this.record(step, 'planned');
    }
    let current: Response;
    try {
      current = await this.send({ method: 'GET', path }, [404]);
    } catch (error) {
      if (isMissingPlugin(error)) return this.record(step, 'skipped', 'this engine has no security plugin REST API');
      throw error;
    }
    const mapping = current.statusCode === 404 ? undefined : current.body[role];
    const backendRoles: string[] = mapping?.backend_roles ?? [];
    if (!backendRoles.includes(roleArn)) return this.record(step, 'unchanged');
    await this.send({ method: 'PUT', path, body: mappingBody(mapping, backendRoles.filter((r) => r !== roleArn)) });
    this.record(step, 'updated', `removed; kept ${backendRoles.length - 1} other backend roles`);
  }

  /** Maps `roleArn` to built-in roles (merged with their existing backend roles). */
  async builtInMapping(roleArn: string, who: string, roles: readonly string[]): Promise<void> {
    if (this.dryRun) {
      for (const role of roles) await this.write({ method: 'PUT', path: mappingPath(role), body: { backend_roles: [roleArn] } });
      return this.record(`${who} ${roleArn} mapped to ${roles.join(', ')}`, 'planned', 'mappings are merged with existing ones when run');
    }
    for (const role of roles) {
      try {
        await this.roleMapping(role, roleArn);
      } catch (error) {
        if (isMissingPlugin(error)) return this.record(`${who} mapping`, 'skipped', 'this engine has no security plugin REST API');
        throw error;
      }
    }
  }

  /** Adds `roleArn` as a backend role of `role`, keeping the existing backend roles. */
  private async roleMapping(role: string, roleArn: string): Promise<void> {
    const path = mappingPath(role);
    const currentMapping = await this.send({ method: 'GET', path }, [404]);
    const mapping = currentMapping.statusCode === 404 ? undefined : currentMapping.body[role];
    const backendRoles: string[] = mapping?.backend_roles ?? [];
    if (backendRoles.includes(roleArn)) return this.record(`role mapping ${role} -> ${roleArn}`, 'unchanged');
    await this.send({ method: 'PUT', path, body: mappingBody(mapping, [...backendRoles, roleArn]) });
    this.record(`role mapping ${role} -> ${roleArn}`, mapping ? 'updated' : 'created', backendRoles.length ? `kept ${backendRoles.length} existing backend roles` : undefined);
  }

  async dashboards(target: DashboardsTarget, objects: SavedObject[]): Promise<void> {
    const step = `Dashboards saved objects (${objects.length}) at ${target.url}`;
    if (this.dryRun) {
      this.log(`POST ${target.url}/api/saved_objects/_import?overwrite=true (osd-xsrf: true; multipart field "file")\n${objects.map((o) => `  ${o.type} ${o.id}`).join('\n')}`);
      return this.record(step, 'planned');
    }
    try {
      if (await savedObjectsUpToDate(target, this.client, objects)) return this.record(step, 'unchanged');
      const result = await importSavedObjects(target, this.client, toNdjson(objects));
      this.record(step, 'updated', `imported ${result.successCount} objects (overwrite)`);
    } catch (error) {
      if (errorInfo(error).statusCode !== undefined) throw explainError(error, { method: 'POST', path: `${target.url}/api/saved_objects/_import` });
      throw error;
    }
  }

  async verify(index: string, expected: Map<string, string>, keyFields: readonly string[] = KEY_FIELDS): Promise<Verification> {
    const response = await this.send({ method: 'POST', path: `/_index_template/_simulate_index/${encodeURIComponent(index)}` });
    const properties = response.body.template?.mappings?.properties ?? {};
    const actual = flattenMappingTypes(properties);
    const checks: FieldCheck[] = [...expected].map(([path, type]) => ({ path, expected: type, actual: actual.get(path) }));
    const overlapping: string[] = (response.body.overlapping ?? []).map((o: { name: string; index_patterns: string[] }) => `${o.name} (${o.index_patterns.join(', ')})`);
    const verification: Verification = {
      index,
      fieldsChecked: checks.length,
      mismatches: checks.filter((c) => c.actual !== c.expected),
      keyFields: checks.filter((c) => keyFields.includes(c.path)),
      overlapping,
    };
    if (response.body.template?.mappings?.dynamic !== 'strict') {
      verification.mismatches.push({ path: '(mapping) dynamic', expected: 'strict', actual: String(response.body.template?.mappings?.dynamic) });
    }
    return verification;
  }

  /** Data node count, or undefined when the identity may not read cluster health (advisory only). */
  async dataNodes(): Promise<number | undefined> {
    try {
      const health = await this.send({ method: 'GET', path: '/_cluster/health' });
      return typeof health.body.number_of_data_nodes === 'number' ? health.body.number_of_data_nodes : undefined;
    } catch {
      return undefined;
    }
  }

  /** Index templates other than ours that match `index` with a priority >= ours: one of them wins over ours. */
  async competingTemplates(index: string, ours: IndexTemplate): Promise<string[]> {
    const response = await this.send({ method: 'GET', path: '/_index_template' });
    const matches = (pattern: string): boolean => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(index);
    return (response.body.index_templates as { name: string; index_template: { index_patterns: string[]; priority?: number } }[])
      .filter((t) => t.name !== ours.name && (t.index_template.priority ?? 0) >= ours.body.priority && t.index_template.index_patterns.some(matches))
      .map((t) => `${t.name} (${t.index_template.index_patterns.join(', ')}, priority ${t.index_template.priority ?? 0})`);
  }

  /**
   * What the mappings of the existing strict `<prefix>-*` indices (made from our template) lack of
   * the schema. Throws, before anything is written, when an index maps a schema field with another
   * type: OpenSearch cannot change a field's type in place. Indices that are not strict were made
   * without the template; they accept new fields anyway and are reported by staleIndices().
   */
  async mappingPlan(prefix: string, mappings: IndexMappings): Promise<{ strictIndices: number; updates: MappingUpdate[] }> {
    const response = await this.send({ method: 'GET', path: `/${names(prefix).indexPattern}/_mapping` }, [404]);
    if (response.statusCode === 404) return { strictIndices: 0, updates: [] };
    const expected = flattenMappingTypes(mappings.properties);
    const updates: MappingUpdate[] = [];
    const conflicts: string[] = [];
    let strictIndices = 0;
    const indices = Object.entries((response.body ?? {}) as Record<string, { mappings?: { dynamic?: unknown; properties?: Record<string, unknown> } }>);
    for (const [index, value] of indices.sort(([a], [b]) => a.localeCompare(b))) {
      if (String(value.mappings?.dynamic) !== 'strict') continue;
      strictIndices += 1;
      const actual = flattenMappingTypes(value.mappings?.properties ?? {});
      const added: string[] = [];
      for (const [path, type] of expected) {
        const current = actual.get(path);
        if (current === undefined) added.push(path);
        else if (current !== type) conflicts.push(`index ${index} maps ${path} as ${current}, the schema as ${type}`);
      }
      if (added.length > 0) updates.push({ index, added });
    }
    if (conflicts.length > 0) {
      throw new InstallError(
        `Existing indices cannot take the current mapping (a field's type cannot change in place; nothing was changed): ${conflicts.join('; ')}. ` +
          'Reindex those indices into new ones (or delete them), then run setup again.',
      );
    }
    return { strictIndices, updates };
  }

  /** Adds the schema's new fields to existing indices in one request (one cluster-state update) for all of them. */
  async upgradeMappings(prefix: string, mappings: IndexMappings, plan: { strictIndices: number; updates: MappingUpdate[] }): Promise<MappingUpdate[]> {
    const step = `mappings of existing ${names(prefix).indexPattern} indices`;
    if (this.dryRun) {
      this.log(`PUT /<each strict ${names(prefix).indexPattern} index missing schema fields>/_mapping\n${JSON.stringify({ properties: mappings.properties })}`);
      this.record(step, 'planned', 'adds the fields the schema has and the index lacks; settings are not touched');
      return [];
    }
    if (plan.strictIndices === 0) return [];
    if (plan.updates.length === 0) {
      this.record(step, 'unchanged', `${plan.strictIndices} indices have every schema field`);
      return [];
    }
    const targets = plan.updates.map((u) => encodeURIComponent(u.index)).join(',');
    // An index made with a lower field limit than today's template would refuse the new fields.
    const limit = countMappedFields(mappings) + TOTAL_FIELDS_HEADROOM;
    const limits = await this.send({ method: 'GET', path: `/${targets}/_settings/index.mapping.total_fields.limit` });
    const low = plan.updates.map((u) => u.index)
      .filter((index) => Number((limits.body as Record<string, any>)?.[index]?.settings?.index?.mapping?.total_fields?.limit ?? 1000) < limit);
    if (low.length > 0) {
      await this.send({ method: 'PUT', path: `/${low.map(encodeURIComponent).join(',')}/_settings`, body: { index: { mapping: { total_fields: { limit } } } } });
    }
    await this.send({ method: 'PUT', path: `/${targets}/_mapping`, body: { properties: mappings.properties } });
    const fields = [...new Set(plan.updates.flatMap((u) => u.added))];
    this.record(step, 'updated', `added ${fields.join(', ')} to ${plan.updates.map((u) => u.index).join(', ')}`);
    return plan.updates;
  }

  /** Existing daily indices created before the template (or by another one) keep their own types. */
  async staleIndices(prefix: string, expected: Map<string, string>, keyFields: readonly string[] = KEY_FIELDS): Promise<string[]> {
    const probe = keyFields.slice(0, 3);
    const response = await this.send({ method: 'GET', path: `/${names(prefix).indexPattern}/_mapping/field/${probe.join(',')}` }, [404]);
    if (response.statusCode === 404) return [];
    const stale: string[] = [];
    for (const [index, value] of Object.entries(response.body as Record<string, { mappings: Record<string, { mapping: Record<string, { type: string }> }> }>)) {
      const wrong = probe.filter((field) => {
        const leaf = field.split('.').at(-1)!;
        return value.mappings[field]?.mapping[leaf]?.type !== expected.get(field);
      });
      if (wrong.length > 0) stale.push(`${index} (${wrong.join(', ')})`);
    }
    return stale.sort();
  }
}

/** Who the domain's security plugin takes the caller for; `undefined` roles: the engine has no security plugin. */
export interface SecurityIdentity {
  user?: string;
  roles?: string[];
}

/**
 * The caller's FGAC identity (`GET /_plugins/_security/authinfo`, which the security plugin answers for any
 * signed-in caller whatever its roles). An engine without the plugin answers 400/404: `{}`.
 */
export async function securityIdentity(client: Client): Promise<SecurityIdentity> {
  const installer = new Installer(client, false, undefined);
  let response: Response;
  try {
    response = await installer.send({ method: 'GET', path: '/_plugins/_security/authinfo' }, [400, 404]);
  } catch (error) {
    if (isMissingPlugin(error)) return {};
    throw error;
  }
  if (response.statusCode !== 200) return {};
  const body = response.body as { user_name?: unknown; roles?: unknown };
  return {
    ...(typeof body.user_name === 'string' ? { user: body.user_name } : {}),
    roles: Array.isArray(body.roles) ? body.roles.filter((r): r is string => typeof r === 'string') : [],
  };
}

/** True when `identity` may install the `prefix` family: no security plugin, all_access, or `<prefix>-installer`. */
export function mayInstall(identity: SecurityIdentity, prefix: string): boolean {
  return identity.roles === undefined || identity.roles.includes(ADMIN_ROLE) || identity.roles.includes(names(prefix).installerRole);
}

export async function installTemplates(client: Client, options: InstallOptions = {}): Promise<InstallReport> {
  const logType = options.logType ?? 'access';
  const spec = LOG_TYPE_SPECS[logType];
  const keyFields = KEY_FIELDS_BY_TYPE[logType];
  const templateOptions: TemplateOptions = {
    indexPrefix: options.indexPrefix ?? spec.defaultIndexPrefix,
    shards: options.shards ?? DEFAULT_TEMPLATE_OPTIONS.shards,
    replicas: options.replicas ?? DEFAULT_TEMPLATE_OPTIONS.replicas,
    refreshInterval: options.refreshInterval ?? DEFAULT_TEMPLATE_OPTIONS.refreshInterval,
    retentionDays: options.retentionDays ?? DEFAULT_TEMPLATE_OPTIONS.retentionDays,
    priority: options.priority ?? DEFAULT_TEMPLATE_OPTIONS.priority,
  };
  let rendered: RenderedTemplates;
  try {
    rendered = renderTemplates(templateOptions, spec.fields);
  } catch (error) {
    throw new InstallError((error as Error).message);
  }
  for (const [who, arn] of [
    ['Firehose', options.firehoseRoleArn], ['Loader', options.loaderRoleArn], ['Installer', options.installerRoleArn], ['Backfill', options.backfillRoleArn], ['Replayer', options.replayerRoleArn], ['Dashboards', options.dashboardsRoleArn],
    ...(options.adminRoleArns ?? []).map((arn) => ['admin', arn] as const),
  ] as const) {
    if (arn !== undefined && !ROLE_ARN.test(arn)) throw new InstallError(`${who} role ARN "${arn}" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
  }
  if (options.dashboardsAdmin && !options.dashboardsRoleArn) throw new InstallError('dashboardsAdmin needs a Dashboards role ARN to map to all_access');
  const prefix = templateOptions.indexPrefix;
  const expected = flattenMappingTypes(buildMappings(spec.fields).properties);
  const savedObjects = options.dashboards
    ? renderLogTypeSavedObjects(logType, { indexPrefix: prefix, slowRequestSeconds: options.slowRequestSeconds ?? DEFAULT_SLOW_REQUEST_SECONDS })
    : [];
  const problems = checkSavedObjects(savedObjects, expected);
  if (problems.length > 0) throw new InstallError(`Dashboards saved objects are inconsistent with the mapping: ${problems.join('; ')}`);

  const installer = new Installer(client, options.dryRun ?? false, options.log);
  const report: InstallReport = { dryRun: installer.dryRun, steps: installer.steps, changed: false, staleIndices: [], mappingUpdates: [], warnings: [] };
  const mappings = rendered.mappings.body.template.mappings!;
  if (!options.dryRun) {
    const root = await installer.send({ method: 'GET', path: '/' });
    report.version = parseVersion(root.body);
    installer.log(`OpenSearch ${report.version}; installing templates version ${TEMPLATE_VERSION} for ${names(prefix).indexPattern} (${spec.label}s)`);
    const dataNodes = await installer.dataNodes();
    if (dataNodes !== undefined && templateOptions.replicas >= dataNodes) {
      const warning = `${templateOptions.replicas} replicas need ${templateOptions.replicas + 1} data nodes but the cluster has ${dataNodes}: new indices will stay yellow (use --replicas ${dataNodes - 1})`;
      report.warnings.push(warning);
      installer.log(`warning: ${warning}`);
    }
    // Refuse a non-additive change before writing anything.
    await installer.mappingPlan(prefix, mappings);
  }
  await installer.componentTemplate(rendered.settings);
  await installer.componentTemplate(rendered.mappings);
  await installer.indexTemplate(rendered.indexTemplate);
  await installer.ismPolicy(rendered, prefix);
  // After the templates, so an index created meanwhile (a UTC day rotation) is either made from the
  // new template or found here. Only mappings change: shards, replicas and other settings of
  // existing indices stay as the operator left them.
  report.mappingUpdates = await installer.upgradeMappings(prefix, mappings, options.dryRun ? { strictIndices: 0, updates: [] } : await installer.mappingPlan(prefix, mappings));
  if (options.firehoseRoleArn) await installer.securityRole(rendered.firehoseRole, options.firehoseRoleArn, 'Firehose');
  if (options.replayerRoleArn) await installer.securityRole(rendered.firehoseRole, options.replayerRoleArn, 'replayer');
  if (options.loaderRoleArn) await installer.securityRole(rendered.loaderRole, options.loaderRoleArn, 'Loader');
  if (options.backfillRoleArn) await installer.securityRole(rendered.loaderRole, options.backfillRoleArn, 'backfill worker');
  if (options.dashboardsRoleArn) {
    const builtIn = options.dashboardsAdmin ? [DASHBOARDS_USER_ROLE, ADMIN_ROLE] : [DASHBOARDS_USER_ROLE];
    await installer.securityRole(rendered.dashboardsReaderRole, options.dashboardsRoleArn, 'Dashboards', builtIn);
    // Off means off: undo an earlier opt-in (or the all_access mapping older versions made).
    if (!options.dashboardsAdmin) await installer.roleUnmapping(ADMIN_ROLE, options.dashboardsRoleArn);
  }
  if (options.installerRoleArn) await installer.securityRole(rendered.installerRole, options.installerRoleArn, 'template installer');
  // People's admin roles (Dashboards admins group, break-glass): full access and security management.
  for (const arn of options.adminRoleArns ?? []) await installer.builtInMapping(arn, 'admin role', ADMIN_ROLES);
  if (options.dashboards) await installer.dashboards(options.dashboards, savedObjects);

  const index = options.verifyIndex ?? dailyIndexName(prefix, new Date());
  if (options.dryRun) {
    installer.log(`POST /_index_template/_simulate_index/${index}`);
  } else {
    report.verification = await installer.verify(index, expected, keyFields);
    report.staleIndices = await installer.staleIndices(prefix, expected, keyFields);
    if (report.verification.mismatches.length > 0) {
      const list = report.verification.mismatches.map((m) => `${m.path}: ${m.actual ?? 'missing'} instead of ${m.expected}`).join('; ');
      const competing = await installer.competingTemplates(index, rendered.indexTemplate);
      const overlap = competing.length ? ` Templates that win over ${rendered.indexTemplate.name}: ${competing.join(', ')} — raise --priority above theirs or narrow their patterns.` : '';
      throw new InstallError(`Verification failed: a new index ${index} would not get the expected mapping: ${list}.${overlap}`);
    }
  }
  report.changed = installer.steps.some((s) => s.outcome === 'created' || s.outcome === 'updated');
  return report;
}

export interface InstallAllOptions extends Omit<InstallOptions, 'logType' | 'indexPrefix' | 'verifyIndex'> {
  /** The index families to install; default all three. */
  logTypes?: readonly LogType[];
  /** Index prefix per log type; default each type's own (alb-logs, alb-connection, alb-health). */
  indexPrefixes?: Partial<Record<LogType, string>>;
}

/** Index prefix of each log type after the defaults. */
export function resolvePrefixes(indexPrefixes: Partial<Record<LogType, string>> = {}): Record<LogType, string> {
  return Object.fromEntries(LOG_TYPES.map((type) => [type, indexPrefixes[type] ?? LOG_TYPE_SPECS[type].defaultIndexPrefix])) as Record<LogType, string>;
}

/**
 * Two families whose daily indices one index pattern would both match (`alb-*` and `alb-connection-*`)
 * would get each other's mapping: refused with the pair named.
 */
export function prefixConflicts(prefixes: Partial<Record<LogType, string>>): string[] {
  const entries = Object.entries(prefixes) as [LogType, string][];
  const problems: string[] = [];
  for (const [a, prefixA] of entries) {
    for (const [b, prefixB] of entries) {
      if (a !== b && `${prefixB}-`.startsWith(`${prefixA}-`)) problems.push(`the ${a} prefix "${prefixA}" also matches the ${b} indices ${prefixB}-*`);
      else if (a < b && prefixA !== prefixB && (prefixB.startsWith(prefixA) || prefixA.startsWith(prefixB))) {
        problems.push(`the ${a} prefix "${prefixA}" and the ${b} prefix "${prefixB}" start alike, so their Firehose roles (<prefix>*) overlap`);
      }
    }
  }
  return problems;
}

/** installTemplates for each log type in turn (the same options; each with its own prefix, schema and dashboards). */
export async function installAllTemplates(client: Client, options: InstallAllOptions = {}): Promise<Partial<Record<LogType, InstallReport>>> {
  const logTypes = options.logTypes ?? LOG_TYPES;
  const all = resolvePrefixes(options.indexPrefixes);
  const prefixes = Object.fromEntries(logTypes.map((type) => [type, all[type]])) as Partial<Record<LogType, string>>;
  const conflicts = prefixConflicts(prefixes);
  if (conflicts.length > 0) throw new InstallError(`Index prefixes overlap: ${conflicts.join('; ')}. Choose prefixes none of which starts another.`);
  const { logTypes: _types, indexPrefixes: _prefixes, ...shared } = options;
  const reports: Partial<Record<LogType, InstallReport>> = {};
  for (const logType of logTypes) reports[logType] = await installTemplates(client, { ...shared, logType, indexPrefix: all[logType] });
  return reports;
}
