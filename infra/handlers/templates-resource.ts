// CloudFormation custom resource (CDK Provider framework onEvent handler): runs the shared template installer
// (the code behind `npm run setup-templates`) before the delivery stream exists. The installer also maps the
// Firehose role to its least-privilege FGAC role and the Dashboards sign-in role to the read-only
// `<prefix>-dashboards-reader` role plus kibana_user (its saved objects), merging with existing mappings.
// Admin roles are mapped only for the IAM roles of people (AdminRoleArns: the Dashboards admins group, break-glass).
// When people hold the admin rights (ManageSecurity 'false': the break-glass role is the FGAC master), the installer
// touches no security setting: it installs as `<prefix>-installer` once a person has run the stack's security setup
// (`albatross setup-templates --stack`), and until then reports the resource as waiting for it instead of failing.
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Client } from '@opensearch-project/opensearch';
import { installTemplates, mayInstall, securityIdentity, type InstallReport } from '../../templates/install.ts';
import { isLogType, type LogType } from '../../transform/log-type-names.ts';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import { backoffDelayMs } from '../../transform/backoff.ts';

const logger = new Logger({ serviceName: 'albatross-templates-resource' });

/** Custom resource properties, as set by infra/constructs/templates-installer.ts (CloudFormation passes strings). */
export interface TemplatesResourceProperties {
  /** Domain endpoint without scheme. */
  Endpoint: string;
  IndexPrefix: string;
  RetentionDays: string;
  /** Replicas per shard; '' = the installer's default. */
  Replicas: string;
  /** Primary shards per daily index; '' (or absent, resources from before the property) = the installer's default. */
  Shards: string;
  /** IAM role of the delivery stream, mapped to the installer's Firehose FGAC role; '' = none (direct delivery). */
  FirehoseRoleArn: string;
  /** IAM role of the loader in direct delivery, mapped to the `<prefix>-loader` FGAC role; '' = none. */
  LoaderRoleArn: string;
  /** IAM role of the backfill worker, mapped to the `<prefix>-loader` FGAC role too; '' (or absent, older resources) = none. */
  BackfillRoleArn?: string;
  /** IAM role of the replayer Lambda, mapped to the same FGAC role as Firehose; '' (or absent, older resources) = none. */
  ReplayerRoleArn?: string;
  /** IAM role of Dashboards users signed in through Cognito, mapped to the reader role and kibana_user; '' = none. */
  DashboardsRoleArn: string;
  /** 'true' = also map the Dashboards role to all_access (older stacks); 'false' = read-only users. */
  DashboardsAdmin: string;
  /** Comma-separated IAM roles of people who administer the domain; '' (or absent, older resources) = none. */
  AdminRoleArns?: string;
  /**
   * 'true': this installer is the FGAC master and maps every role itself. 'false': people administer the domain;
   * the installer installs templates only. Absent (resources from before the property) = 'true'.
   */
  ManageSecurity?: string;
  /** S3 key of the bundled handler: changes with the templates, so CloudFormation runs the installer again. */
  CodeKey: string;
  /** Index family: access (absent, as before), connection or health. */
  LogType?: LogType;
}

export interface ProviderResponse {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

function nonNegativeInteger(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

// Absent = 'false': resources created before the property existed keep read-only Dashboards users.
function flag(raw: Record<string, unknown>, name: keyof TemplatesResourceProperties, absent = 'false'): string {
  const value = raw[name] ?? absent;
  if (value !== 'true' && value !== 'false') throw new Error(`custom resource property ${name} must be "true" or "false", got ${JSON.stringify(value)}`);
  return value;
}

export function parseProperties(raw: Record<string, unknown>): TemplatesResourceProperties {
  const text = (name: keyof TemplatesResourceProperties, allowEmpty = false): string => {
    const value = raw[name];
    if (typeof value !== 'string' || (!allowEmpty && value === '')) {
      throw new Error(`custom resource property ${name} is missing or not a string`);
    }
    return value;
  };
  return {
    Endpoint: text('Endpoint'),
    IndexPrefix: text('IndexPrefix'),
    RetentionDays: text('RetentionDays'),
    Replicas: text('Replicas', true),
    Shards: raw.Shards === undefined ? '' : text('Shards', true),
    FirehoseRoleArn: text('FirehoseRoleArn', true),
    // Absent in resources created before direct delivery existed.
    LoaderRoleArn: typeof raw['LoaderRoleArn'] === 'string' ? raw['LoaderRoleArn'] : '',
    ReplayerRoleArn: raw.ReplayerRoleArn === undefined ? '' : text('ReplayerRoleArn', true),
    // Absent in resources created before the backfill worker existed.
    BackfillRoleArn: raw.BackfillRoleArn === undefined ? '' : text('BackfillRoleArn', true),
    DashboardsRoleArn: text('DashboardsRoleArn', true),
    DashboardsAdmin: flag(raw, 'DashboardsAdmin'),
    AdminRoleArns: raw.AdminRoleArns === undefined ? '' : text('AdminRoleArns', true),
    ManageSecurity: flag(raw, 'ManageSecurity', 'true'),
    CodeKey: text('CodeKey'),
    ...logTypeProperty(raw['LogType']),
  };
}

function logTypeProperty(value: unknown): { LogType?: LogType } {
  if (value === undefined || value === '' || value === 'access') return {};
  if (typeof value !== 'string' || !isLogType(value)) throw new Error(`custom resource property LogType must be access, connection or health, got ${JSON.stringify(value)}`);
  return { LogType: value };
}

/** What the custom resource did: installed, or waiting for a person to set up the domain's security first. */
export type ConfigureOutcome =
  | { status: 'installed'; report: InstallReport }
  | { status: 'awaiting-security-setup'; identity: string };

/** Everything the custom resource does on Create and Update. */
export async function configureDomain(client: Client, properties: TemplatesResourceProperties, stackName = 'the stack'): Promise<ConfigureOutcome> {
  const manageSecurity = properties.ManageSecurity !== 'false';
  if (!manageSecurity) {
    const identity = await securityIdentity(client);
    if (!mayInstall(identity, properties.IndexPrefix)) {
      // Not an error: a new domain whose admins are people has no mapping for this role until one of them
      // runs the security setup; Firehose keeps what it cannot deliver in the backup bucket meanwhile.
      logger.warn('waiting for the security setup: this installer has no FGAC role on the domain yet', {
        identity: identity.user, roles: identity.roles, indexPrefix: properties.IndexPrefix,
        action: `as the break-glass role (output BreakGlassRoleArn, with MFA), run: npx albatross setup-templates --stack ${stackName}`,
      });
      return { status: 'awaiting-security-setup', identity: identity.user ?? 'unknown' };
    }
  }
  const report = await installTemplates(client, {
    ...(properties.LogType === undefined ? {} : { logType: properties.LogType }),
    indexPrefix: properties.IndexPrefix,
    retentionDays: nonNegativeInteger('RetentionDays', properties.RetentionDays),
    ...(properties.Replicas === '' ? {} : { replicas: nonNegativeInteger('Replicas', properties.Replicas) }),
    ...(properties.Shards === '' ? {} : { shards: nonNegativeInteger('Shards', properties.Shards) }),
    ...(manageSecurity ? securityOptions(properties) : {}),
    log: (line) => logger.info(line),
  });
  logger.info('templates installed', { steps: report.steps, version: report.version, staleIndices: report.staleIndices, mappingUpdates: report.mappingUpdates });
  return { status: 'installed', report };
}

/** The roles an installer that is the FGAC master maps itself. */
function securityOptions(properties: TemplatesResourceProperties): Parameters<typeof installTemplates>[1] {
  return {
    ...(properties.FirehoseRoleArn === '' ? {} : { firehoseRoleArn: properties.FirehoseRoleArn }),
    ...(properties.LoaderRoleArn === '' ? {} : { loaderRoleArn: properties.LoaderRoleArn }),
    ...(properties.ReplayerRoleArn ? { replayerRoleArn: properties.ReplayerRoleArn } : {}),
    ...(properties.BackfillRoleArn ? { backfillRoleArn: properties.BackfillRoleArn } : {}),
    ...(properties.DashboardsRoleArn === '' ? {} : { dashboardsRoleArn: properties.DashboardsRoleArn }),
    dashboardsAdmin: properties.DashboardsAdmin === 'true',
    ...(properties.AdminRoleArns ? { adminRoleArns: properties.AdminRoleArns.split(',') } : {}),
  };
}

/**
 * True for answers a domain gives while it is still applying its access policy, busy or restarting (403, 429, 5xx,
 * connection failures). The installer reports them as InstallError with the status in parentheses.
 */
export function isTransient(error: unknown): boolean {
  const status = (error as { meta?: { statusCode?: number } }).meta?.statusCode;
  const message = error instanceof Error ? error.message : '';
  const code = status ?? Number(/\((\d{3})\)/.exec(message)?.[1] ?? NaN);
  return code === 403 || code === 429 || code >= 500 || /^Cannot reach OpenSearch/.test(message);
}

export interface RetryPolicy {
  /** No new attempt starts after this long; well inside the handler's 5-minute timeout. */
  budgetMs: number;
  baseMs: number;
  maxMs: number;
}

export const CUSTOM_RESOURCE_RETRY: RetryPolicy = { budgetMs: 180_000, baseMs: 2_000, maxMs: 30_000 };

/** Runs `attempt` again after a jittered exponential delay while it fails transiently and the budget lasts. */
export async function retryTransient<T>(attempt: () => Promise<T>, policy: RetryPolicy = CUSTOM_RESOURCE_RETRY): Promise<T> {
  const started = Date.now();
  for (let retry = 1; ; retry += 1) {
    try {
      return await attempt();
    } catch (error) {
      const delay = Math.max(policy.baseMs / 2, backoffDelayMs(retry, policy));
      if (!isTransient(error) || Date.now() - started + delay > policy.budgetMs) throw error;
      logger.warn('transient OpenSearch error, retrying', { retry, delayMs: Math.round(delay), error: (error as Error).message });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<ProviderResponse> {
  const properties = parseProperties(event.ResourceProperties);
  logger.info('templates custom resource', { requestType: event.RequestType, endpoint: properties.Endpoint });
  // Deleting the stack keeps templates, mappings and indices: they hold or describe user data.
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  // sigv4: a custom domain name does not look like an AWS endpoint, but the domain still wants signed requests.
  const client = createOpenSearchClient({ endpoint: `https://${properties.Endpoint}`, region: process.env.AWS_REGION, sigv4: true });
  const stackName = event.StackId.split('/')[1] ?? event.StackId;
  const outcome = await retryTransient(() => configureDomain(client, properties, stackName));
  return { PhysicalResourceId: `${properties.Endpoint}/${properties.IndexPrefix}`, Data: { Status: outcome.status } };
}
