// Enrichment, pure: a client address -> where (source.geo) and which network (source.as); a
// User-Agent header -> what runs (user_agent). The data is passed in (readers the adapter
// data.ts opens on the bundled or the operator's files), so this module does no I/O. Results are
// cached per address and per user agent in bounded LRU caches: a fleet's traffic has few distinct
// user agents and repeating clients, and a cache hit costs far less than a lookup.
import { LRUCache } from 'lru-cache';
import { isPublicAddress } from './address.ts';
import { asFromRecord, type AsFields } from './asn.ts';
import { geoFromRecord, type GeoFields } from './geo.ts';
import type { EnrichPart } from './settings.ts';
import { parseUserAgent, type UserAgentFields } from './user-agent.ts';

export type { AsFields, EnrichPart, GeoFields, UserAgentFields };
export { parseEnrichSetting, formatEnrichSetting, ENRICH_PARTS, DEFAULT_ENRICH_SETTING } from './settings.ts';

/** Anything that answers an address with a record: an mmdb-lib Reader, an AsnTable. */
export interface IpLookup {
  get(ip: string): unknown;
}

export interface EnrichmentData {
  parts: ReadonlySet<EnrichPart>;
  /** City database (DB-IP Lite or MaxMind City layout), any address family. Needed for `geo`. */
  city?: IpLookup;
  /** AS database (AsnTable or MaxMind ASN layout). Needed for `as`. */
  asn?: IpLookup;
  /** Entries per cache (addresses; user agents get a tenth). Default 20,000. */
  cacheSize?: number;
}

export interface IpEnrichment {
  geo?: GeoFields;
  as?: AsFields;
  /** No string in it needs JSON escaping. */
  clean: boolean;
}

export interface UserAgentEnrichment {
  fields: UserAgentFields;
  clean: boolean;
}

export interface EnrichStats {
  ipLookups: number;
  ipCacheHits: number;
  userAgentLookups: number;
  userAgentCacheHits: number;
  /** Lookups that threw (a damaged database): the line keeps its other fields. */
  errors: number;
}

export interface Enricher {
  readonly parts: ReadonlySet<EnrichPart>;
  /** Geo and AS fields for a client address (a valid IP); undefined for non-public addresses or no data. */
  ip(ip: string): IpEnrichment | undefined;
  /** user_agent fields for a User-Agent header; undefined when nothing could be told. */
  userAgent(userAgent: string): UserAgentEnrichment | undefined;
  stats(): EnrichStats;
}

export const DEFAULT_CACHE_SIZE = 20_000;

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function clean(...texts: (string | undefined)[]): boolean {
  return texts.every((text) => text === undefined || !NEEDS_ESCAPE.test(text));
}

// lru-cache stores no undefined: "looked up, nothing found" is this marker.
const NOTHING = Symbol('nothing');

export function createEnricher(data: EnrichmentData): Enricher {
  const geoOn = data.parts.has('geo') && data.city !== undefined;
  const asOn = data.parts.has('as') && data.asn !== undefined;
  const uaOn = data.parts.has('ua');
  if (data.parts.has('geo') && data.city === undefined) throw new Error('enrichment geo needs a city database');
  if (data.parts.has('as') && data.asn === undefined) throw new Error('enrichment as needs an AS database');
  const size = data.cacheSize ?? DEFAULT_CACHE_SIZE;
  const ipCache = new LRUCache<string, IpEnrichment | typeof NOTHING>({ max: size });
  const uaCache = new LRUCache<string, UserAgentEnrichment | typeof NOTHING>({ max: Math.max(100, Math.round(size / 10)) });
  const stats: EnrichStats = { ipLookups: 0, ipCacheHits: 0, userAgentLookups: 0, userAgentCacheHits: 0, errors: 0 };

  function lookUpIp(ip: string): IpEnrichment | undefined {
    if (!isPublicAddress(ip)) return undefined;
    let geo: GeoFields | undefined;
    let as: AsFields | undefined;
    try {
      if (geoOn) geo = geoFromRecord(data.city!.get(ip));
      if (asOn) as = asFromRecord(data.asn!.get(ip));
    } catch {
      stats.errors++;
    }
    if (geo === undefined && as === undefined) return undefined;
    const result: IpEnrichment = {
      clean: clean(geo?.continent_name, geo?.country_iso_code, geo?.country_name, geo?.region_name, geo?.city_name, as?.organization_name),
    };
    if (geo !== undefined) result.geo = geo;
    if (as !== undefined) result.as = as;
    return result;
  }

  function lookUpUserAgent(userAgent: string): UserAgentEnrichment | undefined {
    let fields: UserAgentFields | undefined;
    try {
      fields = parseUserAgent(userAgent);
    } catch {
      stats.errors++;
    }
    if (fields === undefined) return undefined;
    return { fields, clean: clean(fields.name, fields.version, fields.os?.name, fields.os?.version, fields.device?.name) };
  }

  return {
    parts: data.parts,
    ip(ip) {
      if (!geoOn && !asOn) return undefined;
      stats.ipLookups++;
      const cached = ipCache.get(ip);
      if (cached !== undefined) {
        stats.ipCacheHits++;
        return cached === NOTHING ? undefined : cached;
      }
      const result = lookUpIp(ip);
      ipCache.set(ip, result ?? NOTHING);
      return result;
    },
    userAgent(userAgent) {
      if (!uaOn) return undefined;
      stats.userAgentLookups++;
      const cached = uaCache.get(userAgent);
      if (cached !== undefined) {
        stats.userAgentCacheHits++;
        return cached === NOTHING ? undefined : cached;
      }
      const result = lookUpUserAgent(userAgent);
      uaCache.set(userAgent, result ?? NOTHING);
      return result;
    },
    stats: () => ({ ...stats }),
  };
}
