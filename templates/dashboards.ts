// OpenSearch Dashboards saved objects for ALB logs: an index pattern, saved
// searches, visualizations and one dashboard, as NDJSON for the saved-objects
// import API. Object ids derive from the prefix, so re-importing with overwrite
// replaces the previous version instead of creating copies.
import { names } from './render.ts';
import { AGGREGATABLE_TYPES } from '../transform/schema/mapping.ts';

export interface SavedObjectReference {
  name: string;
  type: string;
  id: string;
}
export interface SavedObject {
  id: string;
  type: 'index-pattern' | 'search' | 'visualization' | 'dashboard';
  attributes: Record<string, unknown>;
  references: SavedObjectReference[];
  migrationVersion: Record<string, string>;
}

export interface DashboardsOptions {
  indexPrefix: string;
  /** Threshold of the "slow requests" search, in seconds of total ALB time (event.duration). */
  slowRequestSeconds: number;
}
export const DEFAULT_SLOW_REQUEST_SECONDS = 1;

// The latest migration each type has in OpenSearch Dashboards 2.x: objects marked
// with them are imported as they are, without running old-format migrations.
const MIGRATION_VERSION: Record<SavedObject['type'], Record<string, string>> = {
  'index-pattern': { 'index-pattern': '7.6.0' },
  search: { search: '7.9.3' },
  visualization: { visualization: '7.10.0' },
  dashboard: { dashboard: '7.9.3' },
};

const INDEX_REF_NAME = 'kibanaSavedObjectMeta.searchSourceJSON.index';
const NANOS_PER_SECOND = 1_000_000_000;

export interface Agg {
  id: string;
  enabled: true;
  type: string;
  schema: 'metric' | 'segment' | 'group' | 'bucket' | 'split';
  params: Record<string, unknown>;
}

export const count = (id = '1'): Agg => ({ id, enabled: true, type: 'count', schema: 'metric', params: {} });
export const metric = (id: string, type: 'sum' | 'median', field: string, customLabel: string): Agg => ({ id, enabled: true, type, schema: 'metric', params: { field, customLabel } });
export const dateHistogram = (id: string): Agg => ({
  id,
  enabled: true,
  type: 'date_histogram',
  schema: 'segment',
  params: { field: '@timestamp', useNormalizedOpenSearchInterval: true, interval: 'auto', drop_partials: false, min_doc_count: 1, extended_bounds: {} },
});
export const terms = (id: string, field: string, size: number, schema: Agg['schema'], label: string): Agg => ({
  id,
  enabled: true,
  type: 'terms',
  schema,
  params: { field, size, order: 'desc', orderBy: '1', otherBucket: false, otherBucketLabel: 'Other', missingBucket: false, missingBucketLabel: 'Missing', customLabel: label },
});

// Parameters of the vislib XY charts (line, area, histogram), one series per metric agg.
export function xyParams(type: 'line' | 'area' | 'histogram', metrics: { id: string; label: string }[], valueTitle: string, stacked: boolean): Record<string, unknown> {
  return {
    type,
    grid: { categoryLines: false },
    categoryAxes: [{ id: 'CategoryAxis-1', type: 'category', position: 'bottom', show: true, style: {}, scale: { type: 'linear' }, labels: { show: true, filter: true, truncate: 100 }, title: {} }],
    valueAxes: [
      {
        id: 'ValueAxis-1',
        name: 'LeftAxis-1',
        type: 'value',
        position: 'left',
        show: true,
        style: {},
        scale: { type: 'linear', mode: 'normal' },
        labels: { show: true, rotate: 0, filter: false, truncate: 100 },
        title: { text: valueTitle },
      },
    ],
    seriesParams: metrics.map((m) => ({
      show: true,
      type: type === 'histogram' ? 'histogram' : type,
      mode: stacked ? 'stacked' : 'normal',
      data: { label: m.label, id: m.id },
      valueAxis: 'ValueAxis-1',
      drawLinesBetweenPoints: true,
      lineWidth: 2,
      interpolate: 'linear',
      showCircles: true,
    })),
    addTooltip: true,
    addLegend: true,
    legendPosition: 'right',
    times: [],
    addTimeMarker: false,
    thresholdLine: { show: false, value: 10, width: 1, style: 'full', color: '#E7664C' },
    labels: {},
  };
}

export const TABLE_PARAMS = { perPage: 10, showPartialRows: false, showMetricsAtAllLevels: false, showTotal: false, totalFunc: 'sum', percentageCol: '' };
export const PIE_PARAMS = { type: 'pie', addTooltip: true, addLegend: true, legendPosition: 'right', isDonut: true, labels: { show: false, values: true, last_level: true, truncate: 100 } };
/** Coordinate map (tile_map) of geohash cells, circles scaled by requests. */
const MAP_PARAMS = {
  mapType: 'Scaled Circle Markers', isDesaturated: true, addTooltip: true, heatClusterSize: 1.5, legendPosition: 'bottomright',
  mapZoom: 2, mapCenter: [20, 0], colorSchema: 'Yellow to Red', wms: { enabled: false, options: { format: 'image/png', transparent: true } },
};

/**
 * Autonomous systems of large cloud and hosting providers (not exhaustive): traffic from them is
 * usually machines (scrapers, monitors, other services), not people. Numbers, not names: names vary
 * between data sources.
 */
export const HOSTING_AS_NUMBERS: Readonly<Record<number, string>> = {
  16509: 'Amazon', 14618: 'Amazon', 15169: 'Google', 396982: 'Google Cloud', 8075: 'Microsoft', 14061: 'DigitalOcean',
  16276: 'OVH', 24940: 'Hetzner', 63949: 'Akamai (Linode)', 20473: 'Vultr', 45102: 'Alibaba Cloud', 31898: 'Oracle Cloud',
  132203: 'Tencent Cloud', 51167: 'Contabo', 12876: 'Scaleway', 13335: 'Cloudflare',
};

export interface VisSpec {
  slug: string;
  title: string;
  type: 'line' | 'area' | 'histogram' | 'table' | 'pie' | 'tile_map';
  params: Record<string, unknown>;
  aggs: Agg[];
  description: string;
  /** KQL every document of the visualization must match (e.g. failures only); default all. */
  query?: string;
}

function visualizationSpecs(): VisSpec[] {
  const statusClasses = [
    { label: '2xx', query: 'http.response.status_code >= 200 and http.response.status_code < 300' },
    { label: '3xx', query: 'http.response.status_code >= 300 and http.response.status_code < 400' },
    { label: '4xx', query: 'http.response.status_code >= 400 and http.response.status_code < 500' },
    { label: '5xx', query: 'http.response.status_code >= 500' },
    { label: 'no status', query: 'not http.response.status_code:*' },
  ];
  return [
    {
      slug: 'requests-by-status-class',
      title: 'Requests over time by status class',
      description: 'Requests per interval, split by the load balancer status class.',
      type: 'histogram',
      params: xyParams('histogram', [{ id: '1', label: 'Requests' }], 'Requests', true),
      aggs: [
        count(),
        dateHistogram('2'),
        {
          id: '3',
          enabled: true,
          type: 'filters',
          schema: 'group',
          params: { filters: statusClasses.map((c) => ({ input: { query: c.query, language: 'kuery' }, label: c.label })) },
        },
      ],
    },
    {
      slug: 'latency-percentiles',
      title: 'Latency percentiles over time',
      description: 'Percentiles of the total time from request creation to response (event.duration).',
      type: 'line',
      params: xyParams('line', [{ id: '1', label: 'Latency' }], 'Latency', false),
      aggs: [
        { id: '1', enabled: true, type: 'percentiles', schema: 'metric', params: { field: 'event.duration', percents: [50, 90, 99], customLabel: 'Latency' } },
        dateHistogram('2'),
      ],
    },
    {
      slug: 'bytes-served',
      title: 'Bytes served over time',
      description: 'Bytes sent to clients (http.response.bytes) and received from them.',
      type: 'area',
      params: xyParams('area', [{ id: '1', label: 'Sent' }, { id: '3', label: 'Received' }], 'Bytes', false),
      aggs: [
        metric('1', 'sum', 'http.response.bytes', 'Sent'),
        metric('3', 'sum', 'http.request.bytes', 'Received'),
        dateHistogram('2'),
      ],
    },
    {
      slug: 'status-codes',
      title: 'Status codes',
      description: 'Load balancer status codes.',
      type: 'pie',
      params: PIE_PARAMS,
      aggs: [count(), terms('2', 'http.response.status_code', 20, 'segment', 'Status code')],
    },
    {
      slug: 'top-paths',
      title: 'Top paths',
      description: 'Most requested URL paths with their median latency.',
      type: 'table',
      params: TABLE_PARAMS,
      aggs: [
        count(),
        metric('3', 'median', 'event.duration', 'Median latency'),
        terms('2', 'url.path', 25, 'bucket', 'Path'),
      ],
    },
    {
      slug: 'top-client-ips',
      title: 'Top client IPs',
      description: 'Clients with the most requests and the bytes sent to them.',
      type: 'table',
      params: TABLE_PARAMS,
      aggs: [
        count(),
        metric('3', 'sum', 'http.response.bytes', 'Bytes sent'),
        terms('2', 'source.ip', 25, 'bucket', 'Client IP'),
      ],
    },
    {
      slug: 'client-locations',
      title: 'Client locations',
      description: 'Where clients are (source.geo.location, city level; private addresses have none).',
      type: 'tile_map',
      params: MAP_PARAMS,
      aggs: [
        count(),
        { id: '2', enabled: true, type: 'geohash_grid', schema: 'segment', params: { field: 'source.geo.location', autoPrecision: true, precision: 2, useGeocentroid: true, isFilteredByCollar: true, mapZoom: 2, mapCenter: [20, 0] } },
      ],
    },
    {
      slug: 'top-countries',
      title: 'Top countries',
      description: 'Countries of the client addresses (source.geo.country_name).',
      type: 'table',
      params: TABLE_PARAMS,
      aggs: [count(), terms('2', 'source.geo.country_name', 25, 'bucket', 'Country')],
    },
    {
      slug: 'top-networks',
      title: 'Top networks (AS organisations)',
      description: 'Networks the clients are in: a cloud provider on top often means scraping or other machine traffic.',
      type: 'table',
      params: TABLE_PARAMS,
      aggs: [count(), terms('2', 'source.as.organization.name', 25, 'bucket', 'Network'), terms('3', 'source.as.number', 1, 'bucket', 'AS number')],
    },
    {
      slug: 'browsers',
      title: 'Browsers and clients',
      description: 'Browsers, crawlers and tools (user_agent.name).',
      type: 'pie',
      params: PIE_PARAMS,
      aggs: [count(), terms('2', 'user_agent.name', 15, 'segment', 'Client')],
    },
    {
      slug: 'operating-systems',
      title: 'Operating systems',
      description: 'Operating systems of the clients (user_agent.os.name).',
      type: 'pie',
      params: PIE_PARAMS,
      aggs: [count(), terms('2', 'user_agent.os.name', 15, 'segment', 'Operating system')],
    },
    {
      slug: 'device-types',
      title: 'Device types',
      description: 'Device models and kinds: Desktop, Mobile, Tablet, and Spider for crawlers, scripts and health checkers (user_agent.device.name).',
      type: 'pie',
      params: PIE_PARAMS,
      aggs: [count(), terms('2', 'user_agent.device.name', 15, 'segment', 'Device')],
    },
    {
      slug: 'error-reasons',
      title: 'Error reasons',
      description: 'ALB error reason codes (aws.elb.error.reason).',
      type: 'table',
      params: TABLE_PARAMS,
      aggs: [count(), terms('2', 'aws.elb.error.reason', 25, 'bucket', 'Error reason')],
    },
    {
      slug: 'tls-versions',
      title: 'TLS versions',
      description: 'Negotiated TLS versions on HTTPS listeners.',
      type: 'pie',
      params: PIE_PARAMS,
      aggs: [count(), terms('2', 'tls.version', 10, 'segment', 'TLS version')],
    },
    {
      slug: 'user-agents',
      title: 'User agents',
      description: 'Most frequent User-Agent headers.',
      type: 'table',
      params: TABLE_PARAMS,
      aggs: [count(), terms('2', 'user_agent.original', 25, 'bucket', 'User agent')],
    },
  ];
}

export interface SearchSpec {
  slug: string;
  title: string;
  description: string;
  query: string;
  columns: string[];
}

function searchSpecs(options: DashboardsOptions): SearchSpec[] {
  return [
    {
      slug: '5xx-errors',
      title: '5xx errors',
      description: 'Requests the load balancer answered with a 5xx status.',
      query: 'http.response.status_code >= 500',
      columns: ['http.response.status_code', 'aws.elb.backend.http.response.status_code', 'aws.elb.error.reason', 'http.request.method', 'url.original', 'source.ip'],
    },
    {
      slug: 'slow-requests',
      title: `Slow requests (over ${options.slowRequestSeconds} s)`,
      description: `Requests whose total time (event.duration) exceeded ${options.slowRequestSeconds} s.`,
      query: `event.duration >= ${Math.round(options.slowRequestSeconds * NANOS_PER_SECOND)}`,
      columns: ['event.duration', 'aws.elb.backend_processing_time.sec', 'http.request.method', 'url.original', 'http.response.status_code', 'source.ip'],
    },
    {
      slug: 'hosting-networks',
      title: 'Traffic from cloud and hosting networks',
      description: `Requests from the autonomous systems of large cloud and hosting providers (${[...new Set(Object.values(HOSTING_AS_NUMBERS))].join(', ')}): usually machines, not people.`,
      query: `source.as.number:(${Object.keys(HOSTING_AS_NUMBERS).join(' or ')})`,
      columns: ['source.as.organization.name', 'source.ip', 'source.geo.country_iso_code', 'user_agent.name', 'http.request.method', 'url.original', 'http.response.status_code'],
    },
    {
      slug: 'rejected-ambiguous',
      title: 'Rejected or ambiguous requests (desync classification)',
      description: 'Requests classified Ambiguous or Severe by HTTP desync mitigation.',
      query: 'aws.elb.classification:(Ambiguous or Severe)',
      columns: ['aws.elb.classification', 'aws.elb.classification_reason', 'http.response.status_code', 'http.request.method', 'url.original', 'source.ip'],
    },
  ];
}

const FIELD_FORMATS: Record<string, unknown> = {
  'http.response.bytes': { id: 'bytes' },
  'http.request.bytes': { id: 'bytes' },
  'event.duration': { id: 'duration', params: { inputFormat: 'nanoseconds', outputFormat: 'humanizePrecise', outputPrecision: 1 } },
  'aws.elb.request_processing_time.sec': { id: 'duration', params: { inputFormat: 'seconds', outputFormat: 'humanizePrecise', outputPrecision: 3 } },
  'aws.elb.backend_processing_time.sec': { id: 'duration', params: { inputFormat: 'seconds', outputFormat: 'humanizePrecise', outputPrecision: 3 } },
  'aws.elb.response_processing_time.sec': { id: 'duration', params: { inputFormat: 'seconds', outputFormat: 'humanizePrecise', outputPrecision: 3 } },
};

export const dashboardIds = (prefix: string) => ({
  indexPattern: `${prefix}-index-pattern`,
  dashboard: `${prefix}-overview`,
  visualization: (slug: string) => `${prefix}-vis-${slug}`,
  search: (slug: string) => `${prefix}-search-${slug}`,
});

function searchSourceJSON(query: string, withIndex: boolean): string {
  return JSON.stringify({
    query: { query, language: 'kuery' },
    filter: [],
    ...(withIndex ? { indexRefName: INDEX_REF_NAME } : {}),
  });
}

export function renderSavedObjects(options: DashboardsOptions): SavedObject[] {
  return buildSavedObjects({
    indexPrefix: options.indexPrefix,
    fieldFormats: FIELD_FORMATS,
    searches: searchSpecs(options),
    visualizations: visualizationSpecs(),
    dashboardTitle: `[ALB] Access logs overview (${names(options.indexPrefix).indexPattern})`,
    dashboardDescription: 'Albatross: ALB access logs — traffic, status, latency, clients, errors, TLS.',
  });
}

/** What one index family's saved objects are made of (access logs above; log-type-dashboards.ts for the others). */
export interface SavedObjectsSpec {
  indexPrefix: string;
  fieldFormats: Record<string, unknown>;
  searches: SearchSpec[];
  visualizations: VisSpec[];
  dashboardTitle: string;
  dashboardDescription: string;
  /** Prefix of every visualization and search title; default `[ALB]`. */
  titlePrefix?: string;
}

/** An index pattern, the saved searches, the visualizations and one dashboard holding them all. */
export function buildSavedObjects(spec: SavedObjectsSpec): SavedObject[] {
  const options = spec;
  const titlePrefix = spec.titlePrefix ?? '[ALB]';
  const ids = dashboardIds(options.indexPrefix);
  const indexRef: SavedObjectReference = { name: INDEX_REF_NAME, type: 'index-pattern', id: ids.indexPattern };
  const indexPattern: SavedObject = {
    id: ids.indexPattern,
    type: 'index-pattern',
    attributes: {
      title: names(options.indexPrefix).indexPattern,
      timeFieldName: '@timestamp',
      fieldFormatMap: JSON.stringify(spec.fieldFormats),
    },
    references: [],
    migrationVersion: MIGRATION_VERSION['index-pattern'],
  };
  const searches: SavedObject[] = spec.searches.map((s) => ({
    id: ids.search(s.slug),
    type: 'search',
    attributes: {
      title: `${titlePrefix} ${s.title}`,
      description: s.description,
      hits: 0,
      columns: s.columns,
      sort: [['@timestamp', 'desc']],
      version: 1,
      kibanaSavedObjectMeta: { searchSourceJSON: searchSourceJSON(s.query, true) },
    },
    references: [indexRef],
    migrationVersion: MIGRATION_VERSION.search,
  }));
  const visualizations: SavedObject[] = spec.visualizations.map((v) => ({
    id: ids.visualization(v.slug),
    type: 'visualization',
    attributes: {
      title: `${titlePrefix} ${v.title}`,
      description: v.description,
      visState: JSON.stringify({ title: `${titlePrefix} ${v.title}`, type: v.type, params: v.params, aggs: v.aggs }),
      uiStateJSON: '{}',
      version: 1,
      kibanaSavedObjectMeta: { searchSourceJSON: searchSourceJSON(v.query ?? '', true) },
    },
    references: [indexRef],
    migrationVersion: MIGRATION_VERSION.visualization,
  }));

  // 48-column grid: two panels per row, the time series first, saved searches last.
  const panelObjects = [...visualizations, ...searches];
  const panels = panelObjects.map((object, i) => {
    const panelIndex = String(i + 1);
    const isSearch = object.type === 'search';
    return {
      version: '2.0.0',
      panelIndex,
      gridData: { x: isSearch ? 0 : (i % 2) * 24, y: isSearch ? Math.ceil(visualizations.length / 2) * 15 + (i - visualizations.length) * 15 : Math.floor(i / 2) * 15, w: isSearch ? 48 : 24, h: 15, i: panelIndex },
      embeddableConfig: {},
      panelRefName: `panel_${i}`,
    };
  });
  const dashboard: SavedObject = {
    id: ids.dashboard,
    type: 'dashboard',
    attributes: {
      title: spec.dashboardTitle,
      description: spec.dashboardDescription,
      hits: 0,
      panelsJSON: JSON.stringify(panels),
      optionsJSON: JSON.stringify({ hidePanelTitles: false, useMargins: true }),
      version: 1,
      timeRestore: true,
      timeFrom: 'now-24h',
      timeTo: 'now',
      refreshInterval: { pause: true, value: 0 },
      kibanaSavedObjectMeta: { searchSourceJSON: searchSourceJSON('', false) },
    },
    references: panelObjects.map((object, i) => ({ name: `panel_${i}`, type: object.type, id: object.id })),
    migrationVersion: MIGRATION_VERSION.dashboard,
  };
  return [indexPattern, ...searches, ...visualizations, dashboard];
}

export function toNdjson(objects: readonly SavedObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
}

export function parseNdjson(text: string): SavedObject[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as SavedObject;
      } catch (error) {
        throw new Error(`NDJSON line ${i + 1} is not JSON: ${(error as Error).message}`);
      }
    });
}

// Field names in the KQL we generate: `name:`, `name >= n`, `not name:*`.
const KQL_FIELD = /([@A-Za-z_][\w.@]*)\s*(?::|>=|<=|>|<)/g;

export function kqlFields(query: string): string[] {
  return [...query.matchAll(KQL_FIELD)].map((m) => m[1]!);
}

/** Every document field a saved object reads: agg fields, filter queries, search columns and queries. */
export function fieldsUsedBy(object: SavedObject): { aggregated: string[]; queried: string[]; displayed: string[] } {
  const aggregated: string[] = [];
  const queried: string[] = [];
  const displayed: string[] = [];
  const meta = object.attributes.kibanaSavedObjectMeta as { searchSourceJSON?: string } | undefined;
  if (meta?.searchSourceJSON) {
    const source = JSON.parse(meta.searchSourceJSON) as { query?: { query?: string } };
    queried.push(...kqlFields(source.query?.query ?? ''));
  }
  if (object.type === 'visualization') {
    const visState = JSON.parse(object.attributes.visState as string) as { aggs: Agg[] };
    for (const agg of visState.aggs) {
      if (typeof agg.params.field === 'string') aggregated.push(agg.params.field);
      const filters = agg.params.filters as { input: { query: string } }[] | undefined;
      for (const filter of filters ?? []) queried.push(...kqlFields(filter.input.query));
    }
  }
  if (object.type === 'search') displayed.push(...(object.attributes.columns as string[]));
  return { aggregated, queried, displayed };
}

/**
 * Structural checks of a saved-objects set against the index mapping (dotted path -> type):
 * unique ids, every reference (and panel / index reference name) resolves inside the set, every
 * field exists, aggregated fields have doc values, the time field is a date. Returns the problems.
 */
export function checkSavedObjects(objects: readonly SavedObject[], mappingTypes: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, SavedObject>();
  for (const object of objects) {
    const key = `${object.type}:${object.id}`;
    if (byKey.has(key)) problems.push(`duplicate saved object ${key}`);
    byKey.set(key, object);
  }
  for (const object of objects) {
    const where = `${object.type} ${object.id}`;
    const refNames = new Set(object.references.map((r) => r.name));
    for (const ref of object.references) {
      if (!byKey.has(`${ref.type}:${ref.id}`)) problems.push(`${where}: reference ${ref.name} -> ${ref.type}:${ref.id} does not resolve`);
    }
    const meta = object.attributes.kibanaSavedObjectMeta as { searchSourceJSON?: string } | undefined;
    if (meta?.searchSourceJSON) {
      const source = JSON.parse(meta.searchSourceJSON) as { indexRefName?: string };
      if (source.indexRefName && !refNames.has(source.indexRefName)) problems.push(`${where}: indexRefName ${source.indexRefName} has no reference`);
      if ((object.type === 'visualization' || object.type === 'search') && !source.indexRefName) problems.push(`${where}: no index pattern`);
    }
    if (object.type === 'dashboard') {
      const panels = JSON.parse(object.attributes.panelsJSON as string) as { panelRefName?: string }[];
      if (panels.length === 0) problems.push(`${where}: no panels`);
      for (const panel of panels) {
        if (!panel.panelRefName || !refNames.has(panel.panelRefName)) problems.push(`${where}: panel ${panel.panelRefName ?? '?'} has no reference`);
      }
    }
    if (object.type === 'index-pattern') {
      const timeField = object.attributes.timeFieldName as string;
      const timeType = mappingTypes.get(timeField);
      if (timeType !== 'date' && timeType !== 'date_nanos') problems.push(`${where}: time field ${timeField} is ${timeType ?? 'not mapped'}`);
      const formats = JSON.parse((object.attributes.fieldFormatMap as string | undefined) ?? '{}') as Record<string, unknown>;
      for (const field of Object.keys(formats)) if (!mappingTypes.has(field)) problems.push(`${where}: field format for unmapped field ${field}`);
    }
    const used = fieldsUsedBy(object);
    for (const field of [...used.queried, ...used.displayed]) {
      if (!mappingTypes.has(field)) problems.push(`${where}: uses unmapped field ${field}`);
    }
    for (const field of used.aggregated) {
      const type = mappingTypes.get(field);
      if (!type) problems.push(`${where}: aggregates unmapped field ${field}`);
      else if (!AGGREGATABLE_TYPES.has(type)) problems.push(`${where}: aggregates ${field} of non-aggregatable type ${type}`);
    }
  }
  return problems;
}
