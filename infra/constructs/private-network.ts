// Private (VPC) placement of the domain and of everything that calls it. No lookups: `npx cdk synth` stays
// offline, so an existing VPC is described by its ids and zone names rather than discovered.
import { ArnFormat, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { FunctionNetwork } from './bundled-function.ts';

/** An existing VPC: one private subnet per availability zone the domain uses, in the same order as the zones. */
export interface ExistingVpc {
  readonly vpcId: string;
  readonly privateSubnetIds: readonly string[];
  readonly availabilityZones: readonly string[];
}

export interface PrivateNetworkProps {
  /** 'create' = a VPC with isolated private subnets and the gateway endpoints the stack needs; or an existing one. */
  readonly vpc: 'create' | ExistingVpc;
  /** Availability zones the domain spans (its layout). */
  readonly zones: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** What the Firehose developer guide lists for delivery into a VPC domain (ENIs in the destination's subnets). */
export const FIREHOSE_VPC_ACTIONS = [
  'ec2:DescribeVpcs', 'ec2:DescribeVpcAttribute', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeNetworkInterfaces',
  'ec2:CreateNetworkInterface', 'ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface',
];

export class PrivateNetwork extends Construct {
  readonly vpc: ec2.IVpc;
  /** One private subnet per zone the domain spans. */
  readonly domainSubnets: ec2.ISubnet[];
  /** The domain's security group: HTTPS in from the clients added with `addClient`, nothing else. */
  readonly domainSecurityGroup: ec2.SecurityGroup;
  /** True when the stack created the VPC. */
  readonly created: boolean;

  constructor(scope: Construct, id: string, props: PrivateNetworkProps) {
    super(scope, id);
    if (props.vpc === 'create') {
      this.created = true;
      const vpc = new ec2.Vpc(this, 'Vpc', {
        // Tokens, not names: the stack may be synthesized for no particular region. At least two zones so
        // Firehose and the Lambdas keep a subnet when one zone fails, even for a single-zone domain.
        availabilityZones: Array.from({ length: Math.max(2, props.zones) }, (_, i) => Fn.select(i, Fn.getAzs())),
        natGateways: 0,
        // Isolated: nothing in the VPC reaches the internet. AWS APIs the VPC's functions call go through endpoints.
        subnetConfiguration: [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
        gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
        restrictDefaultSecurityGroup: false,
      });
      const stack = Stack.of(this);
      // VPC Flow Logs assumes the role for flow logs of this account only (confused deputy, as its documentation shows).
      const flowLogsRole = new iam.Role(this, 'FlowLogsRole', {
        description: 'Albatross: VPC flow logs of rejected traffic into CloudWatch Logs',
        assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com', {
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'ec2', resource: 'vpc-flow-log', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }) },
          },
        }),
      });
      vpc.addFlowLog('FlowLogs', {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(
          new logs.LogGroup(this, 'FlowLogGroup', { retention: props.logRetention, removalPolicy: props.removalPolicy }),
          flowLogsRole,
        ),
        trafficType: ec2.FlowLogTrafficType.REJECT,
      });
      this.vpc = vpc;
      this.domainSubnets = vpc.isolatedSubnets.slice(0, props.zones);
    } else {
      this.created = false;
      const { vpcId, privateSubnetIds, availabilityZones } = props.vpc;
      if (privateSubnetIds.length !== availabilityZones.length) {
        throw new Error(
          `privateSubnetIds and availabilityZones must name one subnet per zone, in the same order: got ${privateSubnetIds.length} subnets and ${availabilityZones.length} zones`,
        );
      }
      if (availabilityZones.length < props.zones) {
        throw new Error(`the domain spans ${props.zones} availability zones but the VPC settings name ${availabilityZones.length}`);
      }
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId,
        availabilityZones: [...availabilityZones],
        privateSubnetIds: [...privateSubnetIds],
      });
      this.domainSubnets = this.vpc.privateSubnets.slice(0, props.zones);
    }
    this.domainSecurityGroup = new ec2.SecurityGroup(this, 'DomainSecurityGroup', {
      vpc: this.vpc,
      description: 'Albatross OpenSearch domain: HTTPS from the stack clients only',
      allowAllOutbound: false,
    });
  }

  /**
   * A security group for something that calls the domain: HTTPS to the domain out, and the domain lets it in.
   * `awsApis`: also HTTPS to any address, for clients that call AWS APIs (S3 through the gateway endpoint); in
   * the created VPC's isolated subnets nothing else has a route.
   */
  addClient(id: string, description: string, options: { awsApis?: boolean } = {}): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, id, { vpc: this.vpc, description, allowAllOutbound: false });
    group.addEgressRule(this.domainSecurityGroup, ec2.Port.tcp(443), 'HTTPS to the OpenSearch domain');
    if (options.awsApis === true) group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (S3 via the gateway endpoint)');
    this.domainSecurityGroup.addIngressRule(group, ec2.Port.tcp(443), `HTTPS from ${description}`);
    return group;
  }

  /** Subnets for functions and Firehose: the domain's, so they share its zones. */
  get clientSubnets(): ec2.SubnetSelection {
    return { subnets: this.domainSubnets };
  }

  /** Network settings for a function that calls the domain, with its own security group. */
  functionNetwork(id: string, description: string, options: { awsApis?: boolean } = {}): FunctionNetwork {
    return { vpc: this.vpc, subnets: this.clientSubnets, securityGroups: [this.addClient(id, description, options)] };
  }
}
