// CloudFormation custom resource (CDK Provider framework onEvent handler): runs the shared template installer
// (the code behind `npm run setup-templates`) before the delivery stream exists. The installer also maps the
// Firehose role to its least-privilege FGAC role and the Dashboards sign-in role to the read-only
// `<prefix>-dashboards-reader` role plus kibana_user (its saved objects), merging with existing mappings.
// Nothing is mapped to an admin role unless the operator opted in (DashboardsAdmin, docs/deploy.md §6).
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Client } from '@opensearch-project/opensearch';
import { installTemplates, type InstallReport } from '../../templates/install.ts';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';

const logger = new Logger({ serviceName: 'albatross-templates-resource' });

/** Custom resource properties, as set by infra/constructs/templates-installer.ts (CloudFormation passes strings). */
export interface TemplatesResourceProperties {
  /** Domain endpoint without scheme. */
  Endpoint: string;
  IndexPrefix: string;
  RetentionDays: string;
  /** Replicas per shard; '' = the installer's default. */
  Replicas: string;
  /** IAM role of the delivery stream, mapped to the installer's Firehose FGAC role; '' = none (direct delivery). */
  FirehoseRoleArn: string;
  /** IAM role of the loader in direct delivery, mapped to the `<prefix>-loader` FGAC role; '' = none. */
  LoaderRoleArn: string;
  /** IAM role of Dashboards users signed in through Cognito, mapped to the reader role and kibana_user; '' = none. */
  DashboardsRoleArn: string;
  /** 'true' = also map the Dashboards role to all_access (operator opt-in); 'false' = read-only users. */
  DashboardsAdmin: string;
  /** S3 key of the bundled handler: changes with the templates, so CloudFormation runs the installer again. */
  CodeKey: string;
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
function flag(raw: Record<string, unknown>, name: keyof TemplatesResourceProperties): string {
  const value = raw[name] ?? 'false';
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
    FirehoseRoleArn: text('FirehoseRoleArn', true),
    // Absent in resources created before direct delivery existed.
    LoaderRoleArn: typeof raw['LoaderRoleArn'] === 'string' ? raw['LoaderRoleArn'] : '',
    DashboardsRoleArn: text('DashboardsRoleArn', true),
    DashboardsAdmin: flag(raw, 'DashboardsAdmin'),
    CodeKey: text('CodeKey'),
  };
}

/** Everything the custom resource does on Create and Update. */
export async function configureDomain(client: Client, properties: TemplatesResourceProperties): Promise<InstallReport> {
  const report = await installTemplates(client, {
    indexPrefix: properties.IndexPrefix,
    retentionDays: nonNegativeInteger('RetentionDays', properties.RetentionDays),
    ...(properties.Replicas === '' ? {} : { replicas: nonNegativeInteger('Replicas', properties.Replicas) }),
    ...(properties.FirehoseRoleArn === '' ? {} : { firehoseRoleArn: properties.FirehoseRoleArn }),
    ...(properties.LoaderRoleArn === '' ? {} : { loaderRoleArn: properties.LoaderRoleArn }),
    ...(properties.DashboardsRoleArn === '' ? {} : { dashboardsRoleArn: properties.DashboardsRoleArn }),
    dashboardsAdmin: properties.DashboardsAdmin === 'true',
    log: (line) => logger.info(line),
  });
  logger.info('templates installed', { steps: report.steps, version: report.version, staleIndices: report.staleIndices });
  return report;
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<ProviderResponse> {
  const properties = parseProperties(event.ResourceProperties);
  logger.info('templates custom resource', { requestType: event.RequestType, endpoint: properties.Endpoint });
  // Deleting the stack keeps templates, mappings and indices: they hold or describe user data.
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const client = createOpenSearchClient({ endpoint: `https://${properties.Endpoint}`, region: process.env.AWS_REGION });
  await configureDomain(client, properties);
  return { PhysicalResourceId: `${properties.Endpoint}/${properties.IndexPrefix}` };
}
