// The security setup of a deployed stack: which IAM roles map to which FGAC roles of each index family, as the
// stack publishes it in its SecuritySetup output (infra/albatross-stack.ts) and `albatross setup-templates --stack`
// reads it back. Pure: parsing and checking only.
import { isLogType, type LogType } from '../transform/log-type-names.ts';
import type { InstallOptions } from './install.ts';

/** The output's shape. ARNs absent = that role does not exist in this deployment. */
export interface SecuritySetup {
  version: 1;
  /** https URL of the domain. */
  endpoint: string;
  retentionDays: number;
  shards?: number;
  replicas?: number;
  families: { logType: LogType; indexPrefix: string; firehoseRoleArn?: string }[];
  loaderRoleArn?: string;
  replayerRoleArn?: string;
  backfillRoleArn?: string;
  dashboardsRoleArn?: string;
  adminRoleArns?: string[];
  installerRoleArn: string;
}

/** The output key the stack publishes the setup under. */
export const SECURITY_SETUP_OUTPUT = 'SecuritySetup';

export class SecuritySetupError extends Error {}

function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new SecuritySetupError(`${what} must be a string`);
  return value;
}

function optionalCount(value: unknown, what: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0) throw new SecuritySetupError(`${what} must be a non-negative integer`);
  return number;
}

/** Reads the stack output's JSON; throws SecuritySetupError naming what is wrong. */
export function parseSecuritySetup(text: string): SecuritySetup {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new SecuritySetupError(`the ${SECURITY_SETUP_OUTPUT} output is not JSON`);
  }
  if (raw === null || typeof raw !== 'object') throw new SecuritySetupError(`the ${SECURITY_SETUP_OUTPUT} output is not a JSON object`);
  if (raw.version !== 1) throw new SecuritySetupError(`the ${SECURITY_SETUP_OUTPUT} output has version ${JSON.stringify(raw.version)}; this albatross reads version 1 (use the albatross version the stack was deployed from)`);
  const endpoint = optionalString(raw.endpoint, 'endpoint');
  // https from a stack; http only for a loopback stand-in in tests.
  if (!endpoint || !/^https?:\/\/[^/]/.test(endpoint)) throw new SecuritySetupError('endpoint must be an http(s) URL');
  const installerRoleArn = optionalString(raw.installerRoleArn, 'installerRoleArn');
  if (installerRoleArn === undefined) throw new SecuritySetupError('installerRoleArn is missing');
  const retentionDays = optionalCount(raw.retentionDays, 'retentionDays');
  if (retentionDays === undefined) throw new SecuritySetupError('retentionDays is missing');
  if (!Array.isArray(raw.families) || raw.families.length === 0) throw new SecuritySetupError('families must list at least one index family');
  const families = raw.families.map((family: Record<string, unknown>, i) => {
    if (typeof family?.logType !== 'string' || !isLogType(family.logType)) throw new SecuritySetupError(`families[${i}].logType must be access, connection or health`);
    const indexPrefix = optionalString(family.indexPrefix, `families[${i}].indexPrefix`);
    if (indexPrefix === undefined) throw new SecuritySetupError(`families[${i}].indexPrefix is missing`);
    const firehoseRoleArn = optionalString(family.firehoseRoleArn, `families[${i}].firehoseRoleArn`);
    return { logType: family.logType, indexPrefix, ...(firehoseRoleArn ? { firehoseRoleArn } : {}) };
  });
  const admins = raw.adminRoleArns === undefined ? undefined : raw.adminRoleArns;
  if (admins !== undefined && (!Array.isArray(admins) || admins.some((a) => typeof a !== 'string'))) throw new SecuritySetupError('adminRoleArns must be a list of ARNs');
  const shards = optionalCount(raw.shards, 'shards');
  const replicas = optionalCount(raw.replicas, 'replicas');
  const roles = Object.fromEntries((['loaderRoleArn', 'replayerRoleArn', 'backfillRoleArn', 'dashboardsRoleArn'] as const)
    .map((key) => [key, optionalString(raw[key], key)] as const).filter(([, value]) => value !== undefined));
  return {
    version: 1, endpoint, retentionDays, families, installerRoleArn, ...roles,
    ...(shards === undefined ? {} : { shards }), ...(replicas === undefined ? {} : { replicas }),
    ...(admins && admins.length > 0 ? { adminRoleArns: admins as string[] } : {}),
  };
}

/** The installation of each family the setup describes: its templates, and every role mapped to its FGAC roles. */
export function securitySetupInstalls(setup: SecuritySetup): (InstallOptions & { logType: LogType; indexPrefix: string })[] {
  return setup.families.map((family) => ({
    logType: family.logType,
    indexPrefix: family.indexPrefix,
    retentionDays: setup.retentionDays,
    ...(setup.shards === undefined ? {} : { shards: setup.shards }),
    ...(setup.replicas === undefined ? {} : { replicas: setup.replicas }),
    ...(family.firehoseRoleArn ? { firehoseRoleArn: family.firehoseRoleArn } : {}),
    ...(setup.loaderRoleArn ? { loaderRoleArn: setup.loaderRoleArn } : {}),
    ...(setup.replayerRoleArn ? { replayerRoleArn: setup.replayerRoleArn } : {}),
    ...(setup.backfillRoleArn ? { backfillRoleArn: setup.backfillRoleArn } : {}),
    ...(setup.dashboardsRoleArn ? { dashboardsRoleArn: setup.dashboardsRoleArn } : {}),
    ...(setup.adminRoleArns ? { adminRoleArns: setup.adminRoleArns } : {}),
    installerRoleArn: setup.installerRoleArn,
  }));
}
