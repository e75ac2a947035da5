// Renders every OpenSearch object Albatross installs (component templates, the
// composable index template, the ISM retention policy, the Firehose and
// Dashboards-reader security roles) as plain request bodies. Pure: no I/O, so the
// installer, the CDK custom resource, `npm run templates:build` and the tests all
// see the same bodies.
import { createHash } from 'node:crypto';
import { SCHEMA_FIELDS, type SchemaField } from '../transform/schema/fields.ts';
import { buildMappings, flattenMappingTypes, type IndexMappings } from '../transform/schema/mapping.ts';

/**
 * Bump when the rendered objects change in a way users should notice; it is the
 * templates' `version` and `_meta.version`. The content hash in `_meta` catches
 * every other difference, so a forgotten bump still updates the cluster.
 */
export const TEMPLATE_VERSION = 1;
export const MANAGED_BY = 'albatross';

export interface TemplateOptions {
  /** Index name prefix: Firehose writes `<prefix>-YYYY-MM-DD`. */
  indexPrefix: string;
  shards: number;
  replicas: number;
  refreshInterval: string;
  /** Indices older than this many days are deleted by the ISM policy. */
  retentionDays: number;
  /** Index template priority; raise it to win over another template matching `<prefix>-*`. */
  priority: number;
}

export const DEFAULT_TEMPLATE_OPTIONS: TemplateOptions = {
  indexPrefix: 'alb-logs',
  shards: 1,
  replicas: 1,
  refreshInterval: '30s',
  retentionDays: 30,
  priority: 200,
};

// OpenSearch index names: lowercase, no \ / * ? " < > | , # : or space, not starting with - _ +.
// The prefix also ends up in template/policy/role names and Dashboards ids, so keep it simple.
const PREFIX_PATTERN = /^[a-z0-9][a-z0-9._-]{0,199}$/;

export function validateTemplateOptions(options: TemplateOptions): void {
  const problems: string[] = [];
  if (!PREFIX_PATTERN.test(options.indexPrefix)) {
    problems.push(`prefix "${options.indexPrefix}" must be lowercase letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  if (!Number.isInteger(options.shards) || options.shards < 1 || options.shards > 1024) problems.push(`shards must be an integer 1-1024, got ${options.shards}`);
  if (!Number.isInteger(options.replicas) || options.replicas < 0 || options.replicas > 15) problems.push(`replicas must be an integer 0-15, got ${options.replicas}`);
  if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1 || options.retentionDays > 36_500) {
    problems.push(`retention days must be an integer 1-36500, got ${options.retentionDays}`);
  }
  if (!Number.isInteger(options.priority) || options.priority < 0) problems.push(`priority must be a non-negative integer, got ${options.priority}`);
  if (!/^(-1|\d+(ms|s|m|h))$/.test(options.refreshInterval)) problems.push(`refresh interval "${options.refreshInterval}" must look like 30s, 1m or -1`);
  if (problems.length > 0) throw new Error(`Invalid template options: ${problems.join('; ')}`);
}

/** Canonical JSON (sorted keys) so equal objects always hash the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

export interface TemplateMeta {
  managed_by: typeof MANAGED_BY;
  version: number;
  content_hash: string;
  [key: string]: unknown;
}

export interface ComponentTemplate {
  name: string;
  body: { template: { settings?: Record<string, unknown>; mappings?: IndexMappings }; version: number; _meta: TemplateMeta };
}
export interface IndexTemplate {
  name: string;
  body: {
    index_patterns: string[];
    composed_of: string[];
    priority: number;
    version: number;
    _meta: TemplateMeta;
  };
}
export interface IsmPolicy {
  id: string;
  body: { policy: Record<string, unknown> };
  contentHash: string;
}
export interface SecurityRole {
  name: string;
  body: { description: string; cluster_permissions: string[]; index_permissions: { index_patterns: string[]; allowed_actions: string[] }[] };
}

function withMeta<T extends { version: number; _meta: TemplateMeta }>(body: Omit<T, 'version' | '_meta'>): T {
  const hash = contentHash({ body, version: TEMPLATE_VERSION });
  return { ...body, version: TEMPLATE_VERSION, _meta: { managed_by: MANAGED_BY, version: TEMPLATE_VERSION, content_hash: hash } } as T;
}

export const names = (prefix: string) => ({
  settingsComponent: `${prefix}-settings`,
  mappingsComponent: `${prefix}-mappings`,
  indexTemplate: prefix,
  indexPattern: `${prefix}-*`,
  ismPolicy: `${prefix}-retention`,
  securityRole: `${prefix}-firehose`,
  loaderRole: `${prefix}-loader`,
  dashboardsReaderRole: `${prefix}-dashboards-reader`,
  installerRole: `${prefix}-installer`,
});

/** Number of mapped fields (objects, leaves and multi-fields) as OpenSearch counts them for total_fields.limit. */
export function countMappedFields(mappings: IndexMappings): number {
  const leaves = flattenMappingTypes(mappings.properties).size;
  const objects = new Set<string>();
  for (const path of flattenMappingTypes(mappings.properties).keys()) {
    const segments = path.split('.');
    for (let i = 1; i < segments.length; i++) objects.add(segments.slice(0, i).join('.'));
  }
  return leaves + objects.size;
}

/** Headroom over the schema's own fields, for fields a user adds in their own component template. */
export const TOTAL_FIELDS_HEADROOM = 100;

export function renderSettingsComponent(options: TemplateOptions, fields: readonly SchemaField[] = SCHEMA_FIELDS): ComponentTemplate {
  const totalFields = countMappedFields(buildMappings(fields)) + TOTAL_FIELDS_HEADROOM;
  return {
    name: names(options.indexPrefix).settingsComponent,
    body: withMeta<ComponentTemplate['body']>({
      template: {
        settings: {
          index: {
            number_of_shards: options.shards,
            number_of_replicas: options.replicas,
            refresh_interval: options.refreshInterval,
            codec: 'best_compression',
            mapping: { total_fields: { limit: totalFields } },
          },
        },
      },
    }),
  };
}

export function renderMappingsComponent(options: TemplateOptions, fields: readonly SchemaField[] = SCHEMA_FIELDS): ComponentTemplate {
  return {
    name: names(options.indexPrefix).mappingsComponent,
    body: withMeta<ComponentTemplate['body']>({ template: { mappings: buildMappings(fields) } }),
  };
}

export function renderIndexTemplate(options: TemplateOptions): IndexTemplate {
  const n = names(options.indexPrefix);
  return {
    name: n.indexTemplate,
    body: withMeta<IndexTemplate['body']>({
      index_patterns: [n.indexPattern],
      composed_of: [n.settingsComponent, n.mappingsComponent],
      priority: options.priority,
    }),
  };
}

/** ISM policies have no _meta: the content hash goes into the description, where the installer finds it again. */
export function renderIsmPolicy(options: TemplateOptions): IsmPolicy {
  const n = names(options.indexPrefix);
  const policy = {
    default_state: 'hot',
    states: [
      {
        name: 'hot',
        actions: [],
        transitions: [{ state_name: 'delete', conditions: { min_index_age: `${options.retentionDays}d` } }],
      },
      { name: 'delete', actions: [{ delete: {} }], transitions: [] },
    ],
    // Attaches the policy to every new <prefix>-* index; existing ones are added by the installer.
    ism_template: [{ index_patterns: [n.indexPattern], priority: options.priority }],
  };
  const hash = contentHash({ policy, version: TEMPLATE_VERSION });
  return {
    id: n.ismPolicy,
    contentHash: hash,
    body: {
      policy: {
        description: `Albatross: delete ${n.indexPattern} indices ${options.retentionDays} days after creation (${MANAGED_BY} v${TEMPLATE_VERSION} ${hash})`,
        ...policy,
      },
    },
  };
}

/**
 * The OpenSearch security role Firehose is mapped to: the permissions the Firehose developer guide documents for
 * an FGAC domain (cluster_composite_ops + cluster_monitor; create_index, manage and crud on the indices), so every
 * call Firehose makes - bulk, index creation, `GET _all/_settings`, mappings and stats - is allowed. What
 * Firehose cannot do despite `manage`/`crud` is set by the domain access policy, which gives its IAM role
 * GET, POST and PUT only: no DELETE of an index or a document.
 */
export function renderFirehoseRole(options: TemplateOptions): SecurityRole {
  const n = names(options.indexPrefix);
  return {
    name: n.securityRole,
    body: {
      description: `Albatross: Firehose delivery into ${n.indexPattern} (managed by ${MANAGED_BY})`,
      cluster_permissions: ['cluster_composite_ops', 'cluster_monitor'],
      index_permissions: [
        {
          // `<prefix>*`, not `<prefix>-*`: Firehose's own checks address the IndexName itself (the
          // pattern in the Firehose developer guide). It also matches any index whose name merely
          // starts with the prefix, so pick a prefix no other index shares (docs/templates.md).
          index_patterns: [`${options.indexPrefix}*`],
          allowed_actions: ['create_index', 'manage', 'crud'],
        },
      ],
    },
  };
}

/**
 * The OpenSearch security role the loader is mapped to in direct delivery: exactly what `_bulk` with
 * explicit index names needs (create the daily index from the template, index documents), nothing
 * that reads, deletes or changes settings.
 */
export function renderLoaderRole(options: TemplateOptions): SecurityRole {
  const n = names(options.indexPrefix);
  return {
    name: n.loaderRole,
    body: {
      description: `Albatross: loader bulk-indexes into ${n.indexPattern} (managed by ${MANAGED_BY})`,
      cluster_permissions: ['indices:data/write/bulk'],
      index_permissions: [
        {
          index_patterns: [n.indexPattern],
          allowed_actions: ['create_index', 'indices:data/write/bulk*', 'indices:data/write/index'],
        },
      ],
    },
  };
}

/**
 * The OpenSearch security role of the stack's template installer when people hold the admin rights (the
 * break-glass role is the FGAC master): exactly what a redeployment's install needs (templates, the
 * retention policy and attaching it to our indices, additive mapping changes, the checks), and nothing
 * of the security plugin's API: it cannot create roles or mappings, so it cannot raise its own rights.
 */
export function renderInstallerRole(options: TemplateOptions): SecurityRole {
  const n = names(options.indexPrefix);
  return {
    name: n.installerRole,
    body: {
      description: `Albatross: template installer for ${n.indexPattern}, no security API (managed by ${MANAGED_BY})`,
      cluster_permissions: [
        // GET / and cluster health (the version check, the replica warning).
        'cluster_monitor',
        // Component and index templates, their simulation and the list of competing templates.
        'cluster_manage_index_templates',
        // ISM policies; attaching one to an index also needs the index permission below.
        'cluster:admin/opendistro/ism/*',
      ],
      index_permissions: [
        {
          index_patterns: [n.indexPattern],
          allowed_actions: [
            'indices:admin/mappings/get',
            'indices:admin/mappings/fields/get*',
            'indices:admin/mapping/put',
            'indices:monitor/settings/get',
            // Only to raise index.mapping.total_fields.limit before adding new schema fields.
            'indices:admin/settings/update',
            'indices:admin/opensearch/ism/managedindex',
          ],
        },
      ],
    },
  };
}

/** Built-in FGAC role that lets Dashboards users keep their own saved objects (index patterns, visualizations). */
export const DASHBOARDS_USER_ROLE = 'kibana_user';
/** Built-in FGAC admin role; Dashboards users get it only when an operator opts in (`dashboardsAdmin`). */
export const ADMIN_ROLE = 'all_access';

/**
 * The OpenSearch security role Dashboards users are mapped to (with the built-in kibana_user for their saved
 * objects): what Discover and visualizations need on the daily indices, and nothing that writes, deletes or
 * changes an index or the cluster. Anyone needing more signs in as an administrator (docs/deploy.md).
 */
export function renderDashboardsReaderRole(options: TemplateOptions): SecurityRole {
  const n = names(options.indexPrefix);
  return {
    name: n.dashboardsReaderRole,
    body: {
      description: `Albatross: Dashboards users read ${n.indexPattern} (managed by ${MANAGED_BY})`,
      // msearch, mget and scroll; index-level permissions below still decide which indices they reach.
      cluster_permissions: ['cluster_composite_ops_ro'],
      index_permissions: [
        {
          index_patterns: [n.indexPattern],
          allowed_actions: [
            // Action group: search, get, count, field_caps (indices:data/read*, indices:admin/mappings/fields/get*).
            'read',
            // Index pattern wizard and field list: resolve names, read mappings and settings.
            'indices:admin/resolve/index',
            'indices:admin/mappings/get',
            'indices:monitor/settings/get',
          ],
        },
      ],
    },
  };
}

export interface RenderedTemplates {
  settings: ComponentTemplate;
  mappings: ComponentTemplate;
  indexTemplate: IndexTemplate;
  ismPolicy: IsmPolicy;
  firehoseRole: SecurityRole;
  loaderRole: SecurityRole;
  dashboardsReaderRole: SecurityRole;
  installerRole: SecurityRole;
}

export function renderTemplates(options: TemplateOptions, fields: readonly SchemaField[] = SCHEMA_FIELDS): RenderedTemplates {
  validateTemplateOptions(options);
  return {
    settings: renderSettingsComponent(options, fields),
    mappings: renderMappingsComponent(options, fields),
    indexTemplate: renderIndexTemplate(options),
    ismPolicy: renderIsmPolicy(options),
    firehoseRole: renderFirehoseRole(options),
    loaderRole: renderLoaderRole(options),
    dashboardsReaderRole: renderDashboardsReaderRole(options),
    installerRole: renderInstallerRole(options),
  };
}
