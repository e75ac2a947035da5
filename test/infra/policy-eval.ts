// A small evaluator of resource-based policies, as AWS documents the logic for one request: an explicit Deny
// beats any Allow, an Allow needs a matching principal, action, resource and every condition, otherwise the
// request is implicitly denied. Enough of the grammar for the policies this stack writes (principals, wildcards
// in actions and resources, the condition operators below, ...IfExists); anything else throws, so a policy it
// cannot judge fails the test instead of passing it.

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

export interface Request {
  /** The calling principal: a service principal name, or an IAM ARN. */
  principal: { service: string } | { arn: string };
  action: string;
  resource: string;
  /** Condition keys of the request (aws:SourceAccount, aws:SourceArn, aws:SecureTransport, ...). */
  context: Record<string, string | boolean>;
}

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string | string[]>;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** Values of CloudFormation intrinsics: `Ref` names and `Fn::GetAtt` as `LogicalId.Attribute`. */
export type Intrinsics = Record<string, string>;

/** Replaces Ref, Fn::GetAtt and Fn::Join with their values; any other intrinsic or unknown name throws. */
export function resolveIntrinsics(value: unknown, values: Intrinsics): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, values));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key === 'Ref') return known(values, String(arg));
    if (entries.length === 1 && key === 'Fn::GetAtt') return known(values, (arg as string[]).join('.'));
    if (entries.length === 1 && key === 'Fn::Join') {
      const [separator, parts] = arg as [string, unknown[]];
      return parts.map((part) => resolveIntrinsics(part, values)).join(separator);
    }
    if (entries.length === 1 && key?.startsWith('Fn::')) throw new Error(`policy-eval: intrinsic ${key} is not supported`);
    return Object.fromEntries(entries.map(([k, v]) => [k, resolveIntrinsics(v, values)]));
  }
  return value;
}

function known(values: Intrinsics, name: string): string {
  const value = values[name];
  if (value === undefined) throw new Error(`policy-eval: no value for ${name}`);
  return value;
}

const list = (value: unknown): string[] => (value === undefined ? [] : [value].flat().map(String));

/** IAM wildcard match: `*` any run of characters, `?` one character. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's').test(value);
}

/** ArnLike: each of the six colon-separated parts is matched on its own (the resource part may hold colons). */
function arnLike(pattern: string, arn: string): boolean {
  const parts = (s: string): string[] | undefined => {
    const split = s.split(':');
    return split.length < 6 ? undefined : [...split.slice(0, 5), split.slice(5).join(':')];
  };
  const p = parts(pattern);
  const a = parts(arn);
  return p !== undefined && a !== undefined && p.every((part, i) => wildcardMatch(part, a[i]!));
}

function principalMatches(principal: Statement['Principal'], request: Request): boolean {
  if (principal === undefined) throw new Error('policy-eval: a resource policy statement needs a Principal');
  if (principal === '*') return true;
  for (const [kind, raw] of Object.entries(principal)) {
    for (const value of list(raw)) {
      if (value === '*') return true;
      if (kind === 'Service' && 'service' in request.principal && value === request.principal.service) return true;
      if (kind === 'AWS' && 'arn' in request.principal) {
        const account = /^arn:[^:]+:iam::(\d{12}):root$/.exec(value)?.[1] ?? (/^\d{12}$/.test(value) ? value : undefined);
        if (account !== undefined ? request.principal.arn.split(':')[4] === account : value === request.principal.arn) return true;
      }
      if (kind !== 'Service' && kind !== 'AWS') throw new Error(`policy-eval: principal type ${kind} is not supported`);
    }
  }
  return false;
}

type Operator = (values: string[], actual: string) => boolean;
const OPERATORS: Record<string, { test: Operator; negated: boolean }> = {
  StringEquals: { test: (values, actual) => values.includes(actual), negated: false },
  StringNotEquals: { test: (values, actual) => !values.includes(actual), negated: true },
  StringLike: { test: (values, actual) => values.some((v) => wildcardMatch(v, actual)), negated: false },
  StringNotLike: { test: (values, actual) => !values.some((v) => wildcardMatch(v, actual)), negated: true },
  ArnEquals: { test: (values, actual) => values.includes(actual), negated: false },
  ArnLike: { test: (values, actual) => values.some((v) => arnLike(v, actual)), negated: false },
  ArnNotLike: { test: (values, actual) => !values.some((v) => arnLike(v, actual)), negated: true },
  Bool: { test: (values, actual) => values.some((v) => v.toLowerCase() === actual.toLowerCase()), negated: false },
  NumericLessThan: { test: (values, actual) => values.some((v) => Number(actual) < Number(v)), negated: false },
};

function conditionsHold(conditions: Statement['Condition'], context: Request['context']): boolean {
  const lookup = new Map(Object.entries(context).map(([key, value]) => [key.toLowerCase(), String(value)]));
  for (const [rawOperator, entries] of Object.entries(conditions ?? {})) {
    const ifExists = rawOperator.endsWith('IfExists');
    const name = ifExists ? rawOperator.slice(0, -'IfExists'.length) : rawOperator;
    const operator = OPERATORS[name];
    if (!operator) throw new Error(`policy-eval: condition operator ${rawOperator} is not supported`);
    for (const [key, expected] of Object.entries(entries)) {
      const actual = lookup.get(key.toLowerCase());
      // A missing key: ...IfExists and the negated operators hold, the others do not (IAM reference, "Condition operators").
      if (actual === undefined) {
        if (ifExists || operator.negated) continue;
        return false;
      }
      if (!operator.test(list(expected), actual)) return false;
    }
  }
  return true;
}

function statementApplies(statement: Statement, request: Request): boolean {
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') throw new Error(`policy-eval: bad Effect ${String(statement.Effect)}`);
  if (!principalMatches(statement.Principal, request)) return false;
  const actionHit = (patterns: string[]) => patterns.some((p) => wildcardMatch(p, request.action, true));
  if (statement.Action !== undefined ? !actionHit(list(statement.Action)) : actionHit(list(statement.NotAction))) return false;
  const resourceHit = (patterns: string[]) => patterns.some((p) => wildcardMatch(p, request.resource));
  if (statement.Resource !== undefined ? !resourceHit(list(statement.Resource)) : resourceHit(list(statement.NotResource))) return false;
  return conditionsHold(statement.Condition, request.context);
}

/** The decision of a resource policy alone for one request (no identity policy: a service principal has none). */
export function evaluate(statements: Statement[], request: Request): Decision {
  const applying = statements.filter((statement) => statementApplies(statement, request));
  if (applying.some((s) => s.Effect === 'Deny')) return 'ExplicitDeny';
  return applying.some((s) => s.Effect === 'Allow') ? 'Allow' : 'ImplicitDeny';
}
