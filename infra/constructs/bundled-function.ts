import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Repository root: esbuild resolves entries and the lock file from here. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BundledFunctionProps {
  /** Entry file, relative to the repository root (e.g. `transform/loader/handler.ts`). */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly environment?: Record<string, string>;
  readonly removalPolicy: RemovalPolicy;
  /** Execution role; default = a new role. Either way it gets write access to this function's log group only. */
  readonly role?: iam.Role;
  /** Run in these subnets with these security groups (functions that call a private domain). @default - no VPC */
  readonly network?: FunctionNetwork;
  /** Files copied into the bundle beside the code: absolute source path -> path inside the bundle (e.g. data files). */
  readonly files?: Readonly<Record<string, string>>;
}

/** Shell commands that copy `files` into the bundle's output folder (run by esbuild bundling, never Docker). */
function copyCommands(files: Readonly<Record<string, string>>, outputDir: string): string[] {
  const quote = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;
  return Object.entries(files).flatMap(([from, to]) => {
    const target = path.posix.join(outputDir, to);
    return [`mkdir -p ${quote(path.posix.dirname(target))}`, `cp ${quote(from)} ${quote(target)}`];
  });
}

export interface FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
}

/** EC2 actions a VPC-attached Lambda's role needs for its network interfaces; they have no resource-level scope. */
const ENI_ACTIONS = ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'];

/**
 * A Lambda function with the project's defaults: TypeScript bundled by the locally installed esbuild
 * (never Docker), ESM output, arm64, the latest Node.js runtime, its own log group with a retention, and a role
 * that may write to that log group only (instead of the managed AWSLambdaBasicExecutionRole, which allows all groups).
 */
export class BundledFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role =
      props.role ??
      new iam.Role(this, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: props.description,
      });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    if (props.network) {
      // What the managed AWSLambdaVPCAccessExecutionRole would add, as a statement on this function's own role.
      this.role.addToPolicy(new iam.PolicyStatement({ sid: 'VpcNetworkInterfaces', actions: ENI_ACTIONS, resources: ['*'] }));
    }
    this.function = new NodejsFunction(this, 'Function', {
      entry: `${REPO_ROOT}${props.entry}`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: props.environment,
      ...(props.network ? { vpc: props.network.vpc, vpcSubnets: props.network.subnets, securityGroups: props.network.securityGroups } : {}),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // Ship the SDK versions the code was tested with instead of the runtime's copy.
        bundleAwsSDK: true,
        // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
        // Split so the CLI bundler's import.meta.url rewrite (scripts/build-cli.mjs) leaves this string alone.
        banner: "import { createRequire as __albatrossCreateRequire } from 'node:module'; const require = __albatrossCreateRequire(import.meta" + '.url);',
        ...(props.files !== undefined && Object.keys(props.files).length > 0 && {
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_inputDir: string, outputDir: string) => copyCommands(props.files!, outputDir),
          },
        }),
      },
    });
    this.function.node.addDependency(this.logGroup);
  }
}
