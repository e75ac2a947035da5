import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AlbatrossStack } from './albatross-stack.ts';
import { settingsFromContext } from './context.ts';

/**
 * Feature flags the stack is written for, set here rather than in cdk.json so tests and `cdk synth` agree.
 * - server access logs are authorised by bucket policy, not the LogDeliveryWrite ACL (ACLs stay disabled);
 * - CDK's own custom resources use the SDK in the Lambda runtime (no npm download at deploy time).
 */
export const FEATURE_FLAGS = {
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  '@aws-cdk/customresources:installLatestAwsSdkDefault': false,
} as const;

/** The CDK app: one AlbatrossStack configured from context, checked by cdk-nag AwsSolutions on every synthesis. */
export function createApp(appProps?: AppProps): { app: App; stack: AlbatrossStack } {
  const app = new App(appProps);
  for (const [flag, value] of Object.entries(FEATURE_FLAGS)) app.node.setContext(flag, value);
  const settings = settingsFromContext((key) => app.node.tryGetContext(key));
  const stack = new AlbatrossStack(app, 'Albatross', {
    stackName: settings.stackName,
    description: 'Albatross: ALB access logs -> S3 -> SQS -> Lambda -> Firehose -> OpenSearch',
    env: settings.region ? { region: settings.region } : undefined,
    ...settings.props,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
