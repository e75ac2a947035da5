import { ArnFormat, type CfnResource, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { DomainLayout } from './domain-layout.ts';
import type { PrivateNetwork } from './private-network.ts';

export interface DomainSizing {
  readonly instanceType: string;
  readonly dataNodes: number;
  readonly volumeSizeGiB: number;
  /** Dedicated master nodes; 0 = none. */
  readonly masterNodes: number;
  readonly masterInstanceType: string;
  /** 1, 2 or 3; undefined = derived from the data node count (see domain-layout.ts). */
  readonly availabilityZones?: number;
  /** Multi-AZ with Standby: three zones, one of them standby; needs three dedicated masters. */
  readonly multiAzWithStandby?: boolean;
}

/** The HTTP methods of the `es:ESHttp*` actions. */
export type DomainHttpMethod = 'Get' | 'Head' | 'Post' | 'Put' | 'Delete' | 'Patch';

export interface NewSearchDomainProps {
  readonly sizing: DomainSizing;
  /** The template installer's role: allowed GET, HEAD, POST and PUT in the access policy. */
  readonly installerRole: iam.IRole;
  /**
   * Make the installer's role the FGAC master user instead of the break-glass role (it then maps every role itself).
   * @default false - the break-glass role is the master: people hold the admin rights
   */
  readonly installerIsMaster?: boolean;
  /** Cognito hosted-UI domain prefix for Dashboards sign-in (globally unique per region). */
  readonly signInDomainPrefix: string;
  /** Invited to the user pool by e-mail; none = add users in the Cognito console. */
  readonly adminEmail?: string;
  /** The checked zone layout (resolveDomainLayout). */
  readonly layout: DomainLayout;
  /** Place the domain in these private subnets. @default - public endpoint */
  readonly network?: PrivateNetwork;
  /** Fine-grained access control audit logs to CloudWatch Logs (default true). */
  readonly auditLogs?: boolean;
  /**
   * IAM principals (role or user ARNs) that may assume the break-glass admin role, with MFA.
   * @default - IAM principals of this account whose own policy allows sts:AssumeRole on it, with MFA
   */
  readonly breakGlassPrincipals?: readonly string[];
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** Cognito user pool groups for Dashboards users; a user in no group is a reader. */
export const DASHBOARDS_GROUPS = { readers: 'readers', admins: 'admins' } as const;

/**
 * An OpenSearch 2.19 domain with fine-grained access control (an IAM master role: people's break-glass role by default), encryption at rest and in
 * transit, HTTPS with TLS 1.2+, slow and application logs, and Dashboards sign-in through a Cognito user pool.
 * Its access policy names IAM roles only, each with the HTTP methods it uses (`allowHttpMethods()`).
 */
export class NewSearchDomain extends Construct {
  readonly domain: opensearch.Domain;
  readonly userPool: cognito.UserPool;
  readonly identityPool: cognito.CfnIdentityPool;
  /** Role Dashboards users assume after signing in (readers: read-only on the log indices). */
  readonly dashboardsRole: iam.Role;
  /** Role of the Dashboards users in the `admins` group (FGAC all_access and security_manager). */
  readonly dashboardsAdminRole: iam.Role;
  /** Break-glass admin role for people (the FGAC master user by default), assumable with MFA only. */
  readonly breakGlassRole: iam.Role;
  /** Lets OpenSearch Service configure the user and identity pools. */
  readonly cognitoConfigRole: iam.Role;
  /** Data nodes spread over two or three AZs. */
  readonly zoneAware: boolean;

  constructor(scope: Construct, id: string, props: NewSearchDomainProps) {
    super(scope, id);
    const { sizing } = props;

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `${Stack.of(this).stackName}-dashboards`,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { sms: false, otp: true },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      removalPolicy: props.removalPolicy,
    });
    const signInDomain = this.userPool.addDomain('SignIn', { cognitoDomain: { domainPrefix: props.signInDomainPrefix } });
    if (props.adminEmail) {
      new cognito.CfnUserPoolUser(this, 'Admin', {
        userPoolId: this.userPool.userPoolId,
        username: props.adminEmail,
        desiredDeliveryMediums: ['EMAIL'],
        userAttributes: [
          { name: 'email', value: props.adminEmail },
          { name: 'email_verified', value: 'true' },
        ],
      });
    }

    // OpenSearch Service adds its own app client and provider to the identity pool when it enables Cognito auth.
    this.identityPool = new cognito.CfnIdentityPool(this, 'IdentityPool', {
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: false,
    });
    const signedInUsers = () =>
      new iam.FederatedPrincipal(
        'cognito-identity.amazonaws.com',
        {
          StringEquals: { 'cognito-identity.amazonaws.com:aud': this.identityPool.ref },
          'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
        },
        'sts:AssumeRoleWithWebIdentity',
      );
    this.dashboardsRole = new iam.Role(this, 'DashboardsRole', {
      description: 'Albatross: OpenSearch Dashboards users signed in through Cognito',
      assumedBy: signedInUsers(),
    });
    this.dashboardsAdminRole = new iam.Role(this, 'DashboardsAdminRole', {
      description: 'Albatross: OpenSearch Dashboards administrators (Cognito group admins)',
      assumedBy: signedInUsers(),
    });
    // Membership of a group picks the role (the token's cognito:preferred_role); no group = reader.
    new cognito.CfnUserPoolGroup(this, 'AdminsGroup', {
      userPoolId: this.userPool.userPoolId,
      groupName: DASHBOARDS_GROUPS.admins,
      description: 'Albatross Dashboards administrators: full access, including security settings',
      roleArn: this.dashboardsAdminRole.roleArn,
      precedence: 0,
    });
    new cognito.CfnUserPoolGroup(this, 'ReadersGroup', {
      userPoolId: this.userPool.userPoolId,
      groupName: DASHBOARDS_GROUPS.readers,
      description: 'Albatross Dashboards readers: search and dashboards on the log indices',
      roleArn: this.dashboardsRole.roleArn,
      precedence: 10,
    });

    const account = Stack.of(this).account;
    const trusted = props.breakGlassPrincipals?.length
      ? new iam.CompositePrincipal(...props.breakGlassPrincipals.map((arn) => new iam.ArnPrincipal(arn)))
      : new iam.AccountPrincipal(account);
    this.breakGlassRole = new iam.Role(this, 'BreakGlassRole', {
      description: 'Albatross: break-glass OpenSearch administrator for people (MFA required)',
      assumedBy: new iam.PrincipalWithConditions(trusted, { Bool: { 'aws:MultiFactorAuthPresent': 'true' } }),
      maxSessionDuration: Duration.hours(1),
    });
    this.cognitoConfigRole = new iam.Role(this, 'CognitoConfigRole', {
      description: 'Albatross: lets OpenSearch Service configure the Dashboards user and identity pools',
      // The guide has used both service names over time; either one may be the caller.
      assumedBy: new iam.CompositePrincipal(
        new iam.ServicePrincipal('opensearchservice.amazonaws.com'),
        new iam.ServicePrincipal('es.amazonaws.com'),
      ),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonOpenSearchServiceCognitoAccess')],
    });

    const logGroups: logs.LogGroup[] = [];
    const logGroup = (name: string): logs.LogGroup => {
      const group = new logs.LogGroup(this, name, { retention: props.logRetention, removalPolicy: props.removalPolicy });
      logGroups.push(group);
      return group;
    };
    const { layout } = props;
    this.zoneAware = layout.availabilityZones > 1;

    this.domain = new opensearch.Domain(this, 'Domain', {
      version: opensearch.EngineVersion.OPENSEARCH_2_19,
      capacity: {
        dataNodes: sizing.dataNodes,
        dataNodeInstanceType: sizing.instanceType,
        masterNodes: sizing.masterNodes > 0 ? sizing.masterNodes : undefined,
        masterNodeInstanceType: sizing.masterNodes > 0 ? sizing.masterInstanceType : undefined,
        multiAzWithStandbyEnabled: layout.multiAzWithStandby,
      },
      zoneAwareness: this.zoneAware ? { enabled: true, availabilityZoneCount: layout.availabilityZones } : { enabled: false },
      ...(props.network ? { vpc: props.network.vpc, vpcSubnets: [{ subnets: props.network.domainSubnets }], securityGroups: [props.network.domainSecurityGroup] } : {}),
      ebs: { volumeSize: sizing.volumeSizeGiB, volumeType: ec2.EbsDeviceVolumeType.GP3 },
      enforceHttps: true,
      tlsSecurityPolicy: opensearch.TLSSecurityPolicy.TLS_1_2_PFS,
      nodeToNodeEncryption: true,
      encryptionAtRest: { enabled: true },
      fineGrainedAccessControl: { masterUserArn: (props.installerIsMaster ? props.installerRole : this.breakGlassRole).roleArn },
      cognitoDashboardsAuth: {
        userPoolId: this.userPool.userPoolId,
        identityPoolId: this.identityPool.ref,
        role: this.cognitoConfigRole,
      },
      logging: {
        slowSearchLogEnabled: true,
        slowSearchLogGroup: logGroup('SlowSearchLogs'),
        slowIndexLogEnabled: true,
        slowIndexLogGroup: logGroup('SlowIndexLogs'),
        appLogEnabled: true,
        appLogGroup: logGroup('AppLogs'),
        // Who read or changed what (Security Hub Opensearch.5); the security plugin's audit settings choose the categories.
        ...((props.auditLogs ?? true) ? { auditLogEnabled: true, auditLogGroup: logGroup('AuditLogs') } : {}),
      },
      // Service software updates in the off-peak window rather than whenever AWS schedules them (Opensearch.10).
      offPeakWindowEnabled: true,
      enableAutoSoftwareUpdate: true,
      // A change of engine version upgrades the domain in place instead of replacing it (CloudFormation UpdatePolicy).
      enableVersionUpgrade: true,
      // Our own policy below: CDK's has no confused-deputy conditions.
      suppressLogsResourcePolicy: true,
      removalPolicy: props.removalPolicy,
    });
    // OpenSearch Service publishes to the log groups as a service: only domains of this account and region may
    // (aws:SourceAccount, aws:SourceArn, as the OpenSearch Service log-publishing documentation shows).
    const stack = Stack.of(this);
    const logPublishing = new logs.ResourcePolicy(this, 'LogPublishingPolicy', {
      policyStatements: [new iam.PolicyStatement({
        sid: 'OpenSearchLogPublishing',
        principals: [new iam.ServicePrincipal('es.amazonaws.com')],
        actions: ['logs:PutLogEvents', 'logs:CreateLogStream'],
        resources: logGroups.map((group) => group.logGroupArn),
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'es', resource: 'domain', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }) },
        },
      })],
    });
    this.domain.node.addDependency(logPublishing);
    // OpenSearch Service refuses Cognito options for a user pool without a hosted-UI domain.
    this.domain.node.addDependency(signInDomain);
    this.wireCognitoAfterDomain(props.removalPolicy);
    // The installer reads and writes templates and policies (and role mappings when it is the master); it never deletes.
    this.allowHttpMethods(['Get', 'Head', 'Post', 'Put'], props.installerRole);
    // Dashboards users delete and patch their own saved objects; FGAC keeps them read-only on the log indices.
    this.allowHttpMethods(['Get', 'Head', 'Post', 'Put', 'Delete', 'Patch'], this.dashboardsRole, this.dashboardsAdminRole, this.breakGlassRole);
  }

  /**
   * Adds IAM principals to the domain access policy for these HTTP methods only. Within one account an Allow here
   * is enough on its own, so each principal gets just the methods it uses: the policy, not only the principal's
   * identity policy, is what limits it (and FGAC inside the domain limits the paths).
   */
  allowHttpMethods(methods: readonly DomainHttpMethod[], ...principals: iam.IPrincipal[]): void {
    this.allowHttpRequests(methods, ['*'], ...principals);
  }

  /**
   * Like allowHttpMethods, for these paths of the domain only (`_bulk`, `_cluster/*`): for the roles that call a
   * few APIs, so the access policy itself keeps them from every other one whatever FGAC maps them to.
   */
  allowHttpRequests(methods: readonly DomainHttpMethod[], paths: readonly string[], ...principals: iam.IPrincipal[]): void {
    this.domain.addAccessPolicies(
      new iam.PolicyStatement({
        actions: methods.map((method) => `es:ESHttp${method}`),
        principals,
        resources: paths.map((path) => `${this.domain.domainArn}/${path}`),
      }),
    );
  }

  /**
   * What needs the app client OpenSearch Service creates in the user pool when it enables Cognito auth (its id is
   * known only then): the identity pool's token-based role mapping (group -> role), and the identity pool's
   * provider entry, which CloudFormation's own copy of the pool drops on every update of the pool (M-7).
   */
  private wireCognitoAfterDomain(removalPolicy: RemovalPolicy): void {
    const stack = Stack.of(this);
    const policy = cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({ actions: ['cognito-idp:ListUserPoolClients'], resources: [this.userPool.userPoolArn] }),
      new iam.PolicyStatement({
        actions: ['cognito-identity:UpdateIdentityPool'],
        resources: [stack.formatArn({ service: 'cognito-identity', resource: 'identitypool', resourceName: this.identityPool.ref })],
      }),
    ]);
    const listClients: cr.AwsSdkCall = {
      service: 'CognitoIdentityServiceProvider',
      action: 'listUserPoolClients',
      parameters: { UserPoolId: this.userPool.userPoolId, MaxResults: 60 },
      physicalResourceId: cr.PhysicalResourceId.of(`${this.userPool.node.addr}-clients`),
    };
    const clients = new cr.AwsCustomResource(this, 'DashboardsAppClient', {
      onCreate: listClients,
      onUpdate: listClients,
      policy,
      installLatestAwsSdk: false,
      removalPolicy,
    });
    clients.node.addDependency(this.domain);
    // The stack creates no app client of its own, so the pool's only client is OpenSearch's.
    const clientId = clients.getResponseField('UserPoolClients.0.ClientId');
    const providerName = `cognito-idp.${stack.region}.amazonaws.com/${this.userPool.userPoolId}`;

    const attachment = new cognito.CfnIdentityPoolRoleAttachment(this, 'IdentityPoolRoles', {
      identityPoolId: this.identityPool.ref,
      roles: { authenticated: this.dashboardsRole.roleArn },
      roleMappings: {
        dashboards: { identityProvider: `${providerName}:${clientId}`, type: 'Token', ambiguousRoleResolution: 'AuthenticatedRole' },
      },
    });
    attachment.node.addDependency(clients);

    // Runs again whenever CloudFormation's rendering of the pool changes, i.e. whenever an update may have reset it.
    const pool = this.identityPool;
    const restore: cr.AwsSdkCall = {
      service: 'CognitoIdentity',
      action: 'updateIdentityPool',
      parameters: {
        IdentityPoolId: pool.ref,
        IdentityPoolName: pool.attrName,
        AllowUnauthenticatedIdentities: false,
        AllowClassicFlow: false,
        CognitoIdentityProviders: [{ ProviderName: providerName, ClientId: clientId, ServerSideTokenCheck: false }],
      },
      physicalResourceId: cr.PhysicalResourceId.of(`${pool.node.addr}-providers`),
    };
    const restoreProvider = new cr.AwsCustomResource(this, 'IdentityPoolProvider', {
      onCreate: restore,
      onUpdate: restore,
      policy,
      installLatestAwsSdk: false,
      removalPolicy,
    });
    const fingerprint = Lazy.string({ produce: () => JSON.stringify(stack.resolve((pool as unknown as { _toCloudFormation(): unknown })._toCloudFormation())) });
    (restoreProvider.node.findChild('Resource').node.defaultChild as CfnResource).addPropertyOverride('PoolTemplate', fingerprint);
    restoreProvider.node.addDependency(clients);
  }

  /** https URL of OpenSearch Dashboards. */
  get dashboardsUrl(): string {
    return `https://${this.domain.domainEndpoint}/_dashboards/`;
  }
}
