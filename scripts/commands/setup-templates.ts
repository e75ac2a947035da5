// `albatross setup-templates` (`npm run setup-templates`): installs and verifies the
// index templates, retention policy, Firehose security role and Dashboards objects of each log
// type's index family (access, connection, health).
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { count, logTypeList, positiveCount, positiveNumber } from './option-values.ts';
import { DEFAULT_TEMPLATE_OPTIONS } from '../../templates/render.ts';
import { DEFAULT_SLOW_REQUEST_SECONDS, toNdjson } from '../../templates/dashboards.ts';
import { dashboardsTarget } from '../../templates/dashboards-import.ts';
import { renderLogTypeSavedObjects } from '../../templates/log-type-dashboards.ts';
import { installAllTemplates, installTemplates, InstallError, prefixConflicts, resolvePrefixes, type InstallReport } from '../../templates/install.ts';
import { parseSecuritySetup, SECURITY_SETUP_OUTPUT, securitySetupInstalls, type SecuritySetup } from '../../templates/security-setup.ts';
import { LOG_TYPE_NAMES, LOG_TYPES, type LogType } from '../../transform/log-type-names.ts';
import { addEndpointOptions, clientFromOptions, type EndpointCliOptions } from './endpoint-options.ts';

interface SetupTemplatesOptions extends EndpointCliOptions {
  dashboardsUrl?: string;
  exportDashboards?: string;
  prefix: string;
  connectionPrefix: string;
  healthPrefix: string;
  logTypes: LogType[];
  retentionDays: number;
  shards: number;
  replicas: number;
  priority: number;
  refreshInterval: string;
  slowRequestSeconds: number;
  firehoseRoleArn?: string;
  replayerRoleArn?: string;
  dashboardsRoleArn?: string;
  stack?: string;
  dryRun?: boolean;
}

/** Options `--stack` takes from the stack instead; giving one of them as well is refused. */
const FROM_STACK = ['endpoint', 'prefix', 'connectionPrefix', 'healthPrefix', 'logTypes', 'retentionDays', 'shards', 'replicas', 'firehoseRoleArn', 'replayerRoleArn', 'dashboardsRoleArn'] as const;

/** The stack's SecuritySetup output (DescribeStacks with the default AWS credentials). */
async function stackSetup(stack: string): Promise<SecuritySetup> {
  const { stackOutputs } = await import('../aws/stack-outputs.ts');
  const value = (await stackOutputs(stack)).get(SECURITY_SETUP_OUTPUT);
  if (value === undefined) throw new InstallError(`stack ${stack} has no ${SECURITY_SETUP_OUTPUT} output: deploy this version of Albatross first`);
  return parseSecuritySetup(value);
}

const BREAK_GLASS_HINT = 'The security setup needs the domain\'s admin rights: assume the stack\'s break-glass role (output BreakGlassRoleArn) with MFA, then run it again (docs/deploy.md).';

function printReport(report: InstallReport, out: (line: string) => void): void {
  const v = report.verification;
  if (v) {
    out(`Verified with _simulate_index on ${v.index}: ${v.fieldsChecked - v.mismatches.length}/${v.fieldsChecked} fields mapped as expected, dynamic: strict`);
    for (const f of v.keyFields) out(`  ${f.path.padEnd(40)} ${f.actual ?? 'missing'}`);
    if (v.overlapping.length > 0) out(`  note: lower-priority templates also match: ${v.overlapping.join(', ')}`);
  }
  if (report.mappingUpdates.length > 0) {
    out('');
    out('New schema fields added to existing indices (settings untouched):');
    for (const u of report.mappingUpdates) out(`  ${u.index}: ${u.added.join(', ')}`);
  }
  if (report.staleIndices.length > 0) {
    out('');
    out('Warning: existing indices were created without these templates and keep their old field types until ISM deletes them:');
    for (const index of report.staleIndices) out(`  ${index}`);
  }
}

function printSummary(reports: InstallReport[], out: (line: string) => void): void {
  out('');
  const changes = reports.flatMap((r) => r.steps).filter((s) => s.outcome === 'created' || s.outcome === 'updated').length;
  if (reports.some((r) => r.dryRun)) out('Dry run: nothing was sent.');
  else if (changes > 0) out(`Done: ${changes} changes applied.`);
  else out('Nothing to change: everything was already installed and up to date.');
}

export function register(program: Command): void {
  const command = program
    .command('setup-templates')
    .description('install and verify the index templates, ISM retention policy, Firehose security role and Dashboards objects')
    .option('--dashboards-url <url>', 'import the Dashboards saved objects there (Amazon OpenSearch Service: https://<domain-endpoint>/_dashboards)')
    .option('--export-dashboards <file>', 'write the Dashboards saved objects as NDJSON to this file (for a manual import)')
    .option('--prefix <prefix>', 'access-log index name prefix: Firehose writes <prefix>-YYYY-MM-DD', DEFAULT_TEMPLATE_OPTIONS.indexPrefix)
    .option('--connection-prefix <prefix>', 'connection-log index name prefix', LOG_TYPE_NAMES.connection.defaultIndexPrefix)
    .option('--health-prefix <prefix>', 'health-check-log index name prefix', LOG_TYPE_NAMES.health.defaultIndexPrefix)
    .option('--log-types <list>', 'index families to install: comma-separated access, connection, health', logTypeList, [...LOG_TYPES])
    .option('--retention-days <n>', 'delete indices older than this (ISM)', positiveCount, DEFAULT_TEMPLATE_OPTIONS.retentionDays)
    .option('--shards <n>', 'primary shards per daily index', positiveCount, DEFAULT_TEMPLATE_OPTIONS.shards)
    .option('--replicas <n>', 'replicas per shard', count, DEFAULT_TEMPLATE_OPTIONS.replicas)
    .option('--priority <n>', 'index template priority (raise it to win over another template matching <prefix>-*)', count, DEFAULT_TEMPLATE_OPTIONS.priority)
    .option('--refresh-interval <interval>', 'index refresh interval', DEFAULT_TEMPLATE_OPTIONS.refreshInterval)
    .option('--slow-request-seconds <s>', 'threshold of the "slow requests" saved search', positiveNumber, DEFAULT_SLOW_REQUEST_SECONDS)
    .option('--firehose-role-arn <arn>', 'map this IAM role to a least-privilege security role for Firehose on <prefix>*')
    .option('--replayer-role-arn <arn>', "map the replayer Lambda's IAM role to the same security role as Firehose (docs/replay.md)")
    .option(
      '--dashboards-role-arn <arn>',
      'map this IAM role (of the Dashboards users) to a read-only <prefix>-dashboards-reader security role and to kibana_user (skipped without the security plugin)',
    )
    .option(
      '--stack <name>',
      `take the endpoint, index families, retention and every role to map from a deployed stack (its ${SECURITY_SETUP_OUTPUT} output); run it as the break-glass role`,
    )
    .option('--dry-run', 'print every request instead of sending it');
  addEndpointOptions(command).action(async (options: SetupTemplatesOptions) => {
    const out = (line: string): void => void process.stdout.write(`${line}\n`);
    try {
      if (options.stack !== undefined) {
        const both = FROM_STACK.filter((name) => command.getOptionValueSource(name) === 'cli');
        if (both.length > 0) throw new InstallError(`--stack takes ${both.map((name) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} from the stack: leave ${both.length > 1 ? 'them' : 'it'} out`);
        if (options.exportDashboards) throw new InstallError('--export-dashboards writes files only: use it without --stack');
      }
      const setup = options.stack === undefined ? undefined : await stackSetup(options.stack);
      const logTypes = setup ? setup.families.map((family) => family.logType) : options.logTypes;
      const prefixes = resolvePrefixes(setup
        ? Object.fromEntries(setup.families.map((family) => [family.logType, family.indexPrefix]))
        : { access: options.prefix, connection: options.connectionPrefix, health: options.healthPrefix });
      const conflicts = prefixConflicts(Object.fromEntries(logTypes.map((type) => [type, prefixes[type]])));
      if (conflicts.length > 0) throw new InstallError(`Index prefixes overlap: ${conflicts.join('; ')}. Choose prefixes none of which starts another.`);
      if (options.exportDashboards) {
        const objects = logTypes.flatMap((type) =>
          renderLogTypeSavedObjects(type, { indexPrefix: prefixes[type], slowRequestSeconds: options.slowRequestSeconds }));
        await writeFile(options.exportDashboards, toNdjson(objects));
        out(`Wrote ${objects.length} Dashboards saved objects to ${options.exportDashboards} (import: Dashboards Management > Saved objects > Import).`);
        // Exporting alone needs no cluster.
        if (!options.endpoint && !options.dashboardsUrl) return;
      }
      const { client, connection, authDescription } = await clientFromOptions(setup ? { ...options, endpoint: setup.endpoint, sigv4: true } : options);
      out(`${options.dryRun ? 'Dry run against' : 'OpenSearch at'} ${new URL(connection.endpoint).origin} (${authDescription})${options.stack ? `, for stack ${options.stack}` : ''}`);
      const dashboards = options.dashboardsUrl
        ? dashboardsTarget(options.dashboardsUrl, connection.endpoint, connection)
        : undefined;
      const shared = {
        priority: options.priority,
        refreshInterval: options.refreshInterval,
        slowRequestSeconds: options.slowRequestSeconds,
        ...(dashboards ? { dashboards } : {}),
        dryRun: options.dryRun ?? false,
        log: out,
      };
      const reports: Partial<Record<LogType, InstallReport>> = {};
      try {
        if (setup) {
          // One family after another: they share the built-in role mappings (kibana_user, all_access).
          for (const install of securitySetupInstalls(setup)) reports[install.logType] = await installTemplates(client, { ...install, ...shared });
        } else {
          Object.assign(reports, await installAllTemplates(client, {
            logTypes,
            indexPrefixes: prefixes,
            retentionDays: options.retentionDays,
            shards: options.shards,
            replicas: options.replicas,
            ...(options.firehoseRoleArn ? { firehoseRoleArn: options.firehoseRoleArn } : {}),
            ...(options.replayerRoleArn ? { replayerRoleArn: options.replayerRoleArn } : {}),
            ...(options.dashboardsRoleArn ? { dashboardsRoleArn: options.dashboardsRoleArn } : {}),
            ...shared,
          }));
        }
      } catch (error) {
        if (setup && error instanceof InstallError && /\(403\)/.test(error.message)) throw new InstallError(`${error.message} ${BREAK_GLASS_HINT}`);
        throw error;
      } finally {
        // Closed on failure too, so a failed run exits at once instead of waiting for idle sockets.
        await client.close();
      }
      for (const type of logTypes) {
        out('');
        out(`${LOG_TYPE_NAMES[type].label}s (${prefixes[type]}-*):`);
        printReport(reports[type]!, out);
      }
      printSummary(Object.values(reports), out);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`setup-templates failed: ${message}\n`);
      process.exitCode = 1;
    }
  });
}
