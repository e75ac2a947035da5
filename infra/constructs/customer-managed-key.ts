// Customer-managed KMS key mode (-c kms=create | -c kmsKeyArn=…). An aspect, not a prop threaded through every
// construct: it visits every resource that stores data when the stack is synthesized, so a bucket, queue, log
// group or table added later is covered without anyone remembering to pass the key.
import { ArnFormat, Aspects, CfnResource, type IAspect, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';

export interface CustomerManagedKeyProps {
  /** An existing key (its policy is the owner's: docs/deploy.md lists what it must allow); default: create one. */
  readonly existingKeyArn?: string;
  /**
   * Buckets AWS lets use only SSE-S3: the bucket ALB writes its logs to, and the target of S3 server access logs.
   * They keep SSE-S3.
   */
  readonly s3ManagedOnly: readonly s3.IBucket[];
  /** The log bucket whose S3 notifications enter the encrypted queue, and its owner's account. */
  readonly notificationSource: { readonly account: string; readonly bucketArn: string };
}

/** Actions a role needs to read and write data encrypted under the key (no wildcard actions, no key administration). */
export const KEY_USE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] as const;

export class CustomerManagedKey extends Construct {
  readonly key: kms.IKey;
  /** True when the stack created the key (and so manages its policy). */
  readonly created: boolean;

  constructor(scope: Construct, id: string, props: CustomerManagedKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (props.existingKeyArn !== undefined) {
      if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/.test(props.existingKeyArn)) {
        throw new Error(`kmsKeyArn must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>), got "${props.existingKeyArn}"`);
      }
      this.key = kms.Key.fromKeyArn(this, 'Key', props.existingKeyArn);
      this.created = false;
    } else {
      const key = new kms.Key(this, 'Key', {
        description: `Albatross (${stack.stackName}): buckets, queues, topic, delivery stream, domain, table and log groups`,
        enableKeyRotation: true,
      });
      allowServices(key, stack, props.notificationSource);
      this.key = key;
      this.created = true;
    }
    Aspects.of(stack).add(new EncryptWithKey(this.key, new Set(props.s3ManagedOnly.map((b) => b.node.path))));
  }

  /**
   * Lets every role under `scope` that Lambda or Firehose assumes use the key: they read and write the encrypted
   * queues, buckets, table and function environments. Call once all of them exist.
   */
  grantToServiceRoles(scope: Construct): void {
    for (const role of scope.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role)) {
      const trust = JSON.stringify(Stack.of(role).resolve(role.assumeRolePolicy?.toJSON() ?? {}));
      if (!/lambda\.amazonaws\.com|firehose\.amazonaws\.com/.test(trust)) continue;
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'UseStackKey', actions: [...KEY_USE_ACTIONS], resources: [this.key.keyArn] }));
    }
  }
}

/** Key policy statements for the services that encrypt on the stack's behalf, each scoped to this account. */
function allowServices(key: kms.Key, stack: Stack, notificationSource: CustomerManagedKeyProps['notificationSource']): void {
  const account = stack.account;
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchLogsLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        },
      },
    }),
  );
  // S3 event notifications into the encrypted queue, CloudWatch alarm actions into the encrypted topic.
  // S3 acts for the log bucket's owner, which may be another account (a central log-archive bucket).
  for (const [sid, service, sourceAccount, sourceArn] of [
    ['S3EventNotifications', 's3.amazonaws.com', notificationSource.account, notificationSource.bucketArn],
    ['CloudWatchAlarmActions', 'cloudwatch.amazonaws.com', account, stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
  ] as const) {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        principals: [new iam.ServicePrincipal(service)],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': sourceAccount }, ArnLike: { 'aws:SourceArn': sourceArn } },
      }),
    );
  }
}

/** Sets the key on every data-holding L1 resource of the stack. */
class EncryptWithKey implements IAspect {
  constructor(private readonly key: kms.IKey, private readonly s3ManagedOnly: ReadonlySet<string>) {}

  visit(node: IConstruct): void {
    const keyArn = this.key.keyArn;
    if (node instanceof s3.CfnBucket) {
      const owner = node.node.scope;
      if (owner !== undefined && this.s3ManagedOnly.has(owner.node.path)) return;
      node.bucketEncryption = {
        serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: keyArn }, bucketKeyEnabled: true }],
      };
    } else if (node instanceof sqs.CfnQueue) {
      node.sqsManagedSseEnabled = undefined;
      node.kmsMasterKeyId = keyArn;
    } else if (node instanceof sns.CfnTopic) {
      node.kmsMasterKeyId = keyArn;
    } else if (node instanceof logs.CfnLogGroup) {
      node.kmsKeyId = keyArn;
    } else if (node instanceof dynamodb.CfnTable) {
      node.sseSpecification = { sseEnabled: true, sseType: 'KMS', kmsMasterKeyId: keyArn };
    } else if (node instanceof firehose.CfnDeliveryStream) {
      node.deliveryStreamEncryptionConfigurationInput = { keyType: 'CUSTOMER_MANAGED_CMK', keyArn };
    } else if (node instanceof opensearch.CfnDomain) {
      node.encryptionAtRestOptions = { enabled: true, kmsKeyId: keyArn };
    } else if (node instanceof lambda.CfnFunction) {
      node.kmsKeyArn = keyArn;
    } else if (node instanceof CfnResource && node.cfnResourceType === 'AWS::Lambda::Function') {
      // CDK's S3 notifications handler is a plain CfnResource, not a CfnFunction.
      node.addPropertyOverride('KmsKeyArn', keyArn);
    }
  }
}
