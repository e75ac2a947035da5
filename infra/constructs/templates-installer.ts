import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { FunctionNetwork } from './bundled-function.ts';
import type { TemplatesResourceProperties } from '../handlers/templates-resource.ts';
import { BundledFunction } from './bundled-function.ts';
import type { LogType } from '../../transform/log-types.ts';

export interface TemplatesInstallerProps {
  /** The index family this resource installs; more with addFamily(). @default access */
  readonly logType?: LogType;
  /** Role the installer runs as. */
  readonly role: iam.Role;
  /**
   * The installer is the FGAC master and maps every role itself. Otherwise it installs templates only, as
   * `<prefix>-installer`, once a person has run the security setup (and waits for it until then).
   * @default false
   */
  readonly manageSecurity?: boolean;
  readonly domainEndpoint: string;
  readonly indexPrefix: string;
  readonly retentionDays: number;
  /** Replicas per shard; absent = the installer's default. */
  readonly replicas?: number;
  /** Primary shards per daily index; absent = the installer's default. */
  readonly shards?: number;
  /** Firehose delivery: the delivery stream's role. */
  readonly firehoseRoleArn?: string;
  /** Direct delivery: the loader's role. */
  readonly loaderRoleArn?: string;
  /** The replayer's role, mapped to the same FGAC role as Firehose (bulk writing). */
  readonly replayerRoleArn?: string;
  /** The backfill worker's role, mapped to the same FGAC role as the direct loader. */
  readonly backfillRoleArn?: string;
  readonly dashboardsRoleArn?: string;
  /** People's admin roles (Dashboards admins group, break-glass), mapped to all_access and security_manager. */
  readonly adminRoleArns?: readonly string[];
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Run the installer in the domain's VPC. @default - no VPC (public domain) */
  readonly network?: FunctionNetwork;
}

/**
 * Runs the shared template installer (the code behind `npm run setup-templates`) as a CloudFormation custom
 * resource, and maps the Firehose and Dashboards IAM roles to FGAC roles. The delivery stream depends on it,
 * so no document arrives before the mappings exist.
 */
export class TemplatesInstaller extends Construct {
  readonly handler: BundledFunction;
  readonly resource: CustomResource;
  readonly provider: Provider;
  /** One custom resource per further index family (connection, health), on the same provider. */
  readonly families: CustomResource[] = [];
  private readonly baseProperties: TemplatesResourceProperties;

  constructor(scope: Construct, id: string, props: TemplatesInstallerProps) {
    super(scope, id);
    this.handler = new BundledFunction(this, 'Handler', {
      entry: 'infra/handlers/templates-resource.ts',
      description: props.manageSecurity
        ? 'Albatross: install OpenSearch index templates, ISM policy and FGAC role mappings'
        : 'Albatross: install OpenSearch index templates and ISM policy',
      memorySize: 256,
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      role: props.role,
      network: props.network,
    });
    const frameworkLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.provider = new Provider(this, 'Provider', {
      onEventHandler: this.handler.function,
      logGroup: frameworkLogs,
    });
    const properties: TemplatesResourceProperties = {
      Endpoint: props.domainEndpoint,
      IndexPrefix: props.indexPrefix,
      RetentionDays: String(props.retentionDays),
      Replicas: props.replicas === undefined ? '' : String(props.replicas),
      Shards: props.shards === undefined ? '' : String(props.shards),
      FirehoseRoleArn: props.firehoseRoleArn ?? '',
      LoaderRoleArn: props.loaderRoleArn ?? '',
      ReplayerRoleArn: props.replayerRoleArn ?? '',
      BackfillRoleArn: props.backfillRoleArn ?? '',
      DashboardsRoleArn: props.dashboardsRoleArn ?? '',
      // Never 'true' any more: administrators are the admins group's role. An older stack's opt-in is undone.
      DashboardsAdmin: 'false',
      AdminRoleArns: (props.adminRoleArns ?? []).join(','),
      ManageSecurity: props.manageSecurity ? 'true' : 'false',
      CodeKey: ((this.handler.function.node.defaultChild as lambda.CfnFunction).code as lambda.CfnFunction.CodeProperty)
        .s3Key as string,
      // access stays without the property: its resource is the one stacks created before other types existed
      ...(props.logType === undefined || props.logType === 'access' ? {} : { LogType: props.logType }),
    };
    this.baseProperties = properties;
    this.resource = new CustomResource(this, 'Resource', {
      resourceType: 'Custom::AlbatrossTemplates',
      serviceToken: this.provider.serviceToken,
      properties: { ...properties },
    });
  }

  /** Installs another index family (its templates, retention, Firehose and Dashboards roles) with the same settings. */
  addFamily(id: string, family: { logType: LogType; indexPrefix: string; firehoseRoleArn?: string; loaderRoleArn?: string }): CustomResource {
    const properties: TemplatesResourceProperties = {
      ...this.baseProperties,
      IndexPrefix: family.indexPrefix,
      FirehoseRoleArn: family.firehoseRoleArn ?? '',
      LoaderRoleArn: family.loaderRoleArn ?? '',
      ...(family.logType === 'access' ? {} : { LogType: family.logType }),
    };
    if (family.logType === 'access') delete properties.LogType;
    const resource = new CustomResource(this, id, {
      resourceType: 'Custom::AlbatrossTemplates',
      serviceToken: this.provider.serviceToken,
      properties: { ...properties },
    });
    // One installation at a time: they share role mappings (kibana_user, all_access) that each reads and rewrites.
    resource.node.addDependency(this.families.at(-1) ?? this.resource);
    this.families.push(resource);
    return resource;
  }
}
