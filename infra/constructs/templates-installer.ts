import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { TemplatesResourceProperties } from '../handlers/templates-resource.ts';
import { BundledFunction } from './bundled-function.ts';

export interface TemplatesInstallerProps {
  /** Role the installer runs as; for a new domain it is the FGAC master user. */
  readonly role: iam.Role;
  readonly domainEndpoint: string;
  readonly indexPrefix: string;
  readonly retentionDays: number;
  /** Replicas per shard; absent = the installer's default. */
  readonly replicas?: number;
  /** Firehose delivery: the delivery stream's role. */
  readonly firehoseRoleArn?: string;
  /** Direct delivery: the loader's role. */
  readonly loaderRoleArn?: string;
  readonly dashboardsRoleArn?: string;
  /** Also map the Dashboards role to all_access. @default false (read-only Dashboards users) */
  readonly dashboardsAdmin?: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
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

  constructor(scope: Construct, id: string, props: TemplatesInstallerProps) {
    super(scope, id);
    this.handler = new BundledFunction(this, 'Handler', {
      entry: 'infra/handlers/templates-resource.ts',
      description: 'Albatross: install OpenSearch index templates, ISM policy and FGAC role mappings',
      memorySize: 256,
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      role: props.role,
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
      FirehoseRoleArn: props.firehoseRoleArn ?? '',
      LoaderRoleArn: props.loaderRoleArn ?? '',
      DashboardsRoleArn: props.dashboardsRoleArn ?? '',
      DashboardsAdmin: String(props.dashboardsAdmin ?? false),
      CodeKey: ((this.handler.function.node.defaultChild as lambda.CfnFunction).code as lambda.CfnFunction.CodeProperty)
        .s3Key as string,
    };
    this.resource = new CustomResource(this, 'Resource', {
      resourceType: 'Custom::AlbatrossTemplates',
      serviceToken: this.provider.serviceToken,
      properties: { ...properties },
    });
  }
}
