// Finds every IAM/resource policy document in a synthesized template (including policies embedded as JSON
// strings, e.g. the OpenSearch access policy custom resource) and reports statements that are too open.

export interface PolicyViolation {
  resource: string;
  statement: unknown;
  problem: string;
}

type Json = unknown;

/** Renders Fn::Join/Ref/GetAtt to plain text so JSON embedded in strings can be parsed; tokens become TOKEN. */
export function flatten(value: Json): Json {
  if (Array.isArray(value)) return value.map(flatten);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, Json>);
    if (entries.length === 1) {
      const [key, arg] = entries[0]!;
      if (key === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
        return (arg[1] as Json[]).map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(arg[0]);
      }
      if (key === 'Ref' || key === 'Fn::GetAtt' || key === 'Fn::Sub' || key === 'Fn::ImportValue') return 'TOKEN';
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, flatten(v)]));
  }
  return value;
}

function asArray(value: Json): Json[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** Every object with a Statement array, found anywhere (also inside JSON strings). */
export function findPolicyDocuments(value: Json, found: Array<{ Statement: Json[] }> = []): Array<{ Statement: Json[] }> {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if ((trimmed.startsWith('{') || trimmed.startsWith('[')) && trimmed.includes('Statement')) {
      try {
        findPolicyDocuments(JSON.parse(trimmed), found);
      } catch {
        throw new Error(`a string that looks like an embedded policy is not valid JSON: ${trimmed.slice(0, 200)}`);
      }
    }
  } else if (Array.isArray(value)) {
    for (const item of value) findPolicyDocuments(item, found);
  } else if (value && typeof value === 'object') {
    const record = value as Record<string, Json>;
    if (Array.isArray(record.Statement)) found.push(record as { Statement: Json[] });
    for (const child of Object.values(record)) findPolicyDocuments(child, found);
  }
  return found;
}

function principalIsAnyone(principal: Json): boolean {
  if (principal === '*') return true;
  if (principal && typeof principal === 'object') {
    return Object.values(principal as Record<string, Json>).some((p) => asArray(p).includes('*'));
  }
  return false;
}

/** The one acceptable use of Principal "*": deny every request that is not over TLS (or over TLS older than 1.2). */
function isSecureTransportDeny(statement: Record<string, Json>): boolean {
  const condition = statement.Condition as Record<string, Record<string, Json>> | undefined;
  if (statement.Effect !== 'Deny' || !condition || Object.keys(condition).length !== 1) return false;
  if (condition.Bool?.['aws:SecureTransport'] === 'false' && Object.keys(condition.Bool).length === 1) return true;
  return condition.NumericLessThan?.['s3:TlsVersion'] !== undefined && Object.keys(condition.NumericLessThan).length === 1;
}

export function scanStatement(statement: Record<string, Json>): string[] {
  const problems: string[] = [];
  if (principalIsAnyone(statement.Principal) && !isSecureTransportDeny(statement)) problems.push('Principal "*"');
  if (statement.NotPrincipal !== undefined) problems.push('NotPrincipal');
  for (const action of asArray(statement.Action)) {
    if (action === '*') problems.push('Action "*"');
    if (typeof action === 'string' && action.toLowerCase() === 'es:*') problems.push('Action "es:*"');
  }
  if (statement.NotAction !== undefined && statement.Effect === 'Allow') problems.push('Allow with NotAction');
  return problems;
}

export function scanTemplate(template: { Resources: Record<string, { Type: string; Properties?: Json }> }): {
  documents: number;
  violations: PolicyViolation[];
} {
  const violations: PolicyViolation[] = [];
  let documents = 0;
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::Lambda::Permission') {
      const principal = (resource.Properties as Record<string, Json> | undefined)?.Principal;
      if (principal === '*') violations.push({ resource: id, statement: resource.Properties, problem: 'Lambda permission for Principal "*"' });
    }
    for (const document of findPolicyDocuments(flatten(resource.Properties))) {
      documents += 1;
      for (const statement of document.Statement) {
        for (const problem of scanStatement(statement as Record<string, Json>)) violations.push({ resource: id, statement, problem });
      }
    }
  }
  return { documents, violations };
}

/** A statement that lets an AWS service act on a resource of the stack. */
export interface ServiceGrant {
  resource: string;
  /** Where the policy sits: a role's trust policy, or any other resource policy (bucket, queue, topic, key, log group...). */
  kind: 'trust' | 'resource';
  sid?: string;
  services: string[];
  /** Condition keys of the statement, lower-case. */
  conditionKeys: string[];
}

/** Condition keys that tie a service's request to this stack's account or resources (confused-deputy protection). */
export const SOURCE_KEYS = ['aws:sourceaccount', 'aws:sourcearn'] as const;

/** Every Allow statement of the template that grants a service principal, with its condition keys. */
export function serviceGrants(template: { Resources: Record<string, { Type: string; Properties?: Json }> }): ServiceGrant[] {
  const grants: ServiceGrant[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    for (const [property, value] of Object.entries((resource.Properties ?? {}) as Record<string, Json>)) {
      for (const document of findPolicyDocuments(flatten(value))) {
        for (const raw of document.Statement) {
          const statement = raw as Record<string, Json>;
          const principal = statement.Principal as Record<string, Json> | undefined;
          if (statement.Effect !== 'Allow' || principal === undefined || typeof principal !== 'object' || principal.Service === undefined) continue;
          const condition = (statement.Condition ?? {}) as Record<string, Record<string, Json>>;
          grants.push({
            resource: id,
            kind: property === 'AssumeRolePolicyDocument' ? 'trust' : 'resource',
            ...(typeof statement.Sid === 'string' ? { sid: statement.Sid } : {}),
            services: asArray(principal.Service).map(String),
            conditionKeys: Object.values(condition).flatMap((entries) => Object.keys(entries).map((key) => key.toLowerCase())),
          });
        }
      }
    }
  }
  return grants;
}
