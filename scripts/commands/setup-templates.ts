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
import { installAllTemplates, InstallError, prefixConflicts, resolvePrefixes, type InstallReport } from '../../templates/install.ts';
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
  dryRun?: boolean;
}

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
    .option('--dry-run', 'print every request instead of sending it');
  addEndpointOptions(command).action(async (options: SetupTemplatesOptions) => {
    const out = (line: string): void => void process.stdout.write(`${line}\n`);
    try {
      const prefixes = resolvePrefixes({ access: options.prefix, connection: options.connectionPrefix, health: options.healthPrefix });
      const conflicts = prefixConflicts(Object.fromEntries(options.logTypes.map((type) => [type, prefixes[type]])));
      if (conflicts.length > 0) throw new InstallError(`Index prefixes overlap: ${conflicts.join('; ')}. Choose prefixes none of which starts another.`);
      if (options.exportDashboards) {
        const objects = options.logTypes.flatMap((type) =>
          renderLogTypeSavedObjects(type, { indexPrefix: prefixes[type], slowRequestSeconds: options.slowRequestSeconds }));
        await writeFile(options.exportDashboards, toNdjson(objects));
        out(`Wrote ${objects.length} Dashboards saved objects to ${options.exportDashboards} (import: Dashboards Management > Saved objects > Import).`);
        // Exporting alone needs no cluster.
        if (!options.endpoint && !options.dashboardsUrl) return;
      }
      const { client, connection, authDescription } = await clientFromOptions(options);
      out(`${options.dryRun ? 'Dry run against' : 'OpenSearch at'} ${new URL(connection.endpoint).origin} (${authDescription})`);
      const dashboards = options.dashboardsUrl
        ? dashboardsTarget(options.dashboardsUrl, connection.endpoint, connection)
        : undefined;
      // Closed on failure too, so a failed run exits at once instead of waiting for idle sockets.
      const reports = await installAllTemplates(client, {
        logTypes: options.logTypes,
        indexPrefixes: prefixes,
        retentionDays: options.retentionDays,
        shards: options.shards,
        replicas: options.replicas,
        priority: options.priority,
        refreshInterval: options.refreshInterval,
        slowRequestSeconds: options.slowRequestSeconds,
        ...(options.firehoseRoleArn ? { firehoseRoleArn: options.firehoseRoleArn } : {}),
        ...(options.replayerRoleArn ? { replayerRoleArn: options.replayerRoleArn } : {}),
        ...(options.dashboardsRoleArn ? { dashboardsRoleArn: options.dashboardsRoleArn } : {}),
        ...(dashboards ? { dashboards } : {}),
        dryRun: options.dryRun ?? false,
        log: out,
      }).finally(() => client.close());
      for (const type of options.logTypes) {
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
