// cdk-nag AwsSolutions findings this stack accepts on purpose. Each acknowledgement sits on the narrowest
// construct that raises it, names the exact finding (granular IAM4/IAM5 ids, never a whole rule for a whole
// stack) and says why. Anything not listed here fails `cdk synth`.
import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { AlbatrossStack } from './albatross-stack.ts';

const BASIC_EXECUTION_ROLE = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';

/** `id` as cdk-nag prints it; qualified with the plugin name, as the validation report asks. */
function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::${id}`, reason });
}

/** The IAM5 finding id cdk-nag reports for a wildcard resource string (tokens rendered as `<Logical.Attr>`). */
export function wildcardResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(resource))}]`;
}

function acknowledgeWildcards(scope: IConstruct, resources: string[], reason: string): void {
  for (const resource of resources) acknowledge(scope, wildcardResourceFinding(scope, resource), reason);
}

/** CDK's own singleton handlers live at stack level under generated ids. */
function cdkSingletons(stack: Stack, idPrefix: string): IConstruct[] {
  return stack.node.children.filter((child) => child.node.id.startsWith(idPrefix));
}

export function acknowledgeFindings(stack: AlbatrossStack): void {
  const cdkHandlers = [
    ...cdkSingletons(stack, 'BucketNotificationsHandler'),
    // AwsCustomResource singleton of the OpenSearch L2 (access policy, log-group resource policy).
    ...cdkSingletons(stack, 'AWS679f53fac002430cb0da5b7982bd2287'),
    stack.templates.provider,
  ];
  for (const handler of cdkHandlers) {
    acknowledge(handler, BASIC_EXECUTION_ROLE,
      'Handler code shipped by aws-cdk-lib (S3 notifications, custom-resource framework); its role only gets CloudWatch Logs write access from this managed policy.');
  }
  acknowledge(stack.templates.provider, `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(stack.templates.handler.function.node.defaultChild as CfnElement)}.Arn>:*]`,
    'The CDK Provider framework may invoke any version of the one installer function it fronts.');

  const domainArn = stack.domainArn;
  // One delivery stream per log type, each with the same policy shape (none in direct delivery).
  for (const delivery of Object.values(stack.deliveries)) {
    acknowledgeWildcards(delivery.role, [`${domainArn}/*`],
      'Firehose bulk-indexes into daily indices <prefix>-YYYY-MM-DD whose names are not known in advance; scoped to this one domain (AWS Firehose developer guide policy).');
    acknowledgeWildcards(delivery.role, delivery.readPaths.filter((path) => path.includes('*')),
      'Read-only paths (ESHttpGet) Firehose needs for index mappings and node/index stats, exactly as listed in the Firehose developer guide.');
    acknowledgeWildcards(delivery.role, [delivery.backupBucket.arnForObjects('*')],
      'Firehose writes failed documents under keys it generates (errors/<error-output-type>/yyyy/MM/dd/...); scoped to the dedicated backup bucket.');
  }

  acknowledgeWildcards(stack.templatesInstallerRole, [`${domainArn}/*`],
    'The installer writes _component_template, _index_template and _plugins/_ism paths (and _plugins/_security when it is the FGAC master) of this one domain; the path set changes with the templates.');

  const loaderRole = stack.loader.function.role;
  acknowledgeWildcards(loaderRole, [stack.logSource.bucket.arnForObjects(`${stack.logSource.logKeyPrefix}*`)],
    'The loader reads whichever ALB log object S3 notified about; limited to GetObject under the ALB prefix <prefix>/AWSLogs/.');
  acknowledgeWildcards(loaderRole, stack.loader.failureBuckets.flatMap((bucket) => stack.loader.failurePrefixes(stack.delivery === undefined).map((prefix) => bucket.arnForObjects(`${prefix}*`))),
    'The loader records failed lines under deterministic keys below errors/loader-failed/ and, in direct delivery, Firehose\'s errors/processing-failed/ and errors/AmazonOpenSearchService-failed/ (PutObject only).');

  const backfillRole = stack.backfill.worker.role;
  acknowledgeWildcards(backfillRole, stack.backfill.sourceObjectArns,
    'The backfill worker reads the ALB log objects `albatross backfill --on-aws` queued, from the log bucket and the buckets named in backfillBuckets; GetObject only.');
  acknowledgeWildcards(backfillRole, stack.backfill.failureObjectArns,
    'The backfill worker records failed lines under deterministic keys below errors/loader-failed/, errors/processing-failed/ and errors/AmazonOpenSearchService-failed/ (PutObject only), as the direct loader does.');

  if (stack.network) {
    acknowledge(backfillRole, 'AwsSolutions-IAM5[Resource::*]',
      'The backfill worker runs in the domain\'s VPC: EC2 network-interface actions (Create/Describe/Delete/Assign/UnassignNetworkInterface) have no resource-level permissions.');
    acknowledge(stack.templatesInstallerRole, 'AwsSolutions-IAM5[Resource::*]',
      'The installer runs in the domain\'s VPC: EC2 network-interface actions (Create/Describe/Delete/Assign/UnassignNetworkInterface) have no resource-level permissions.');
    acknowledge(stack.replayer.function.role, 'AwsSolutions-IAM5[Resource::*]',
      'The replayer runs in the domain\'s VPC: EC2 network-interface actions (Create/Describe/Delete/Assign/UnassignNetworkInterface) have no resource-level permissions.');
    // Direct delivery: the loader calls the domain from inside its VPC.
    if (stack.delivery === undefined) {
      acknowledge(loaderRole, 'AwsSolutions-IAM5[Resource::*]',
        'The loader runs in the domain\'s VPC (direct delivery): EC2 network-interface actions (Create/Describe/Delete/Assign/UnassignNetworkInterface) have no resource-level permissions.');
    }
    for (const delivery of Object.values(stack.deliveries)) {
      acknowledge(delivery.role, 'AwsSolutions-IAM5[Resource::*]',
        'Firehose delivers into the VPC domain through ENIs it manages: the EC2 Describe*/CreateNetworkInterface* actions the Firehose developer guide lists have no resource-level permissions.');
    }
  }

  const replayerRole = stack.replayer.function.role;
  acknowledgeWildcards(replayerRole, [`${domainArn}/_cluster/*`],
    'The replayer reads cluster health and the write blocks of its index families (ESHttpGet on _cluster/health and _cluster/state/blocks/<patterns>, whose paths name the patterns); scoped to _cluster/ of this one domain.');
  // One replayer per backup bucket (each stream's), all with this role.
  for (const replayer of stack.replayers) {
    const bucket = replayer.backupBucket;
    acknowledgeWildcards(replayerRole, [bucket.arnForObjects('errors/AmazonOpenSearchService-failed/*'), bucket.arnForObjects('errors/replayed/*')],
      'The replayer reads, rewrites and deletes the objects Firehose wrote under errors/AmazonOpenSearchService-failed/ (keys Firehose generates) and moves them under errors/replayed/; scoped to those two prefixes of the backup bucket.');
  }

  const search = stack.searchDomain;
  if (search) {
    acknowledge(search.userPool, 'AwsSolutions-COG8',
      'Dashboards users invited by an operator only: no self sign-up, TOTP MFA required, 14-character passwords; the Plus feature plan (threat protection) is billed per active user and is left to the operator.');
    acknowledge(search.cognitoConfigRole, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonOpenSearchServiceCognitoAccess]',
      'The managed policy AWS documents for OpenSearch Service Cognito authentication; only the OpenSearch service can assume this role.');
    acknowledge(search.domain, 'AwsSolutions-IAM5[Resource::*]',
      'CDK custom resource that puts the CloudWatch Logs resource policy for slow/application logs; logs:PutResourcePolicy has no resource-level permissions.');
    if (stack.network === undefined) {
      acknowledge(search.domain, 'AwsSolutions-OS1',
        'Public endpoint by default so Dashboards users sign in from a browser (Cognito) without a VPN or bastion; -c vpc=create or -c vpcId=… makes the domain private. Every request must be SigV4-signed by one of the IAM roles named in the access policy, then passes fine-grained access control.');
    }
    acknowledge(search.domain, 'AwsSolutions-OS3',
      'Callers are AWS services (Firehose, Lambda) and Cognito-federated browsers without fixed IP addresses; access is limited to named IAM roles instead of IP ranges.');
    if (stack.settings.domainSizing.masterNodes === 0) {
      acknowledge(search.domain, 'AwsSolutions-OS4',
        'Small default domain without dedicated masters to keep cost down; set -c masterNodes=3 for production clusters.');
    }
    if (!search.zoneAware) {
      acknowledge(search.domain, 'AwsSolutions-OS7',
        'Single data node by default (cost); an even -c dataNodes >= 2 enables zone awareness across two AZs.');
    }
  }
}
