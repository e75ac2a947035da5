// The connection- and health-check-log saved objects are consistent with their own mappings, hold
// the panels the issue asks for, and never clash with another family's objects in one Dashboards.
import { describe, expect, it } from 'vitest';
import { checkSavedObjects, fieldsUsedBy, type SavedObject } from '../../templates/dashboards.ts';
import { renderLogTypeSavedObjects } from '../../templates/log-type-dashboards.ts';
import { LOG_TYPE_SPECS, LOG_TYPES, type LogType } from '../../transform/log-types.ts';
import { buildMappings, flattenMappingTypes } from '../../transform/schema/mapping.ts';

const render = (type: LogType): SavedObject[] =>
  renderLogTypeSavedObjects(type, { indexPrefix: LOG_TYPE_SPECS[type].defaultIndexPrefix, slowRequestSeconds: 1 });
const mappingOf = (type: LogType) => flattenMappingTypes(buildMappings(LOG_TYPE_SPECS[type].fields).properties);
const aggregatedBy = (objects: SavedObject[], slugPart: string): string[] =>
  fieldsUsedBy(objects.find((o) => o.type === 'visualization' && o.id.includes(slugPart))!).aggregated;

describe('log-type dashboards', () => {
  it.each(LOG_TYPES)('%s: every field used is mapped, aggregations have doc values, references resolve', (type) => {
    expect(checkSavedObjects(render(type), mappingOf(type))).toEqual([]);
  });

  it('a connection field used on an access index (or the reverse) is caught', () => {
    expect(checkSavedObjects(render('connection'), mappingOf('access')).join('\n')).toMatch(/unmapped field tls\.client\.x509\.subject\.distinguished_name/);
  });

  it('the connection dashboard: failures by reason over time, mTLS failures by subject, handshake latency percentiles, protocol and cipher mix', () => {
    const objects = render('connection');
    const dashboard = objects.find((o) => o.type === 'dashboard')!;
    expect(dashboard.attributes.title).toBe('[ALB] Connection logs overview (alb-connection-*)');
    expect(aggregatedBy(objects, 'handshake-failures-by-reason')).toEqual(['@timestamp', 'aws.elb.error.reason']);
    expect(aggregatedBy(objects, 'mtls-failures-by-subject')).toEqual(['tls.client.x509.subject.distinguished_name', 'aws.elb.error.reason']);
    expect(aggregatedBy(objects, 'handshake-latency')).toEqual(['event.duration', '@timestamp']);
    expect(aggregatedBy(objects, 'tls-protocols')).toEqual(['tls.version']);
    expect(aggregatedBy(objects, 'tls-ciphers')).toEqual(['tls.cipher']);
    expect(fieldsUsedBy(objects.find((o) => o.id.includes('mtls-failures'))!).queried).toEqual(['event.outcome']);
    expect(dashboard.references).toHaveLength(objects.length - 2); // every visualization and search, not the index pattern or itself
  });

  it('the health dashboard: failing targets over time, by reason and target group, check latency', () => {
    const objects = render('health');
    expect(aggregatedBy(objects, 'failing-targets')).toEqual(['@timestamp', 'destination.address']);
    expect(aggregatedBy(objects, 'failures-by-reason')).toEqual(['aws.elb.error.reason']);
    expect(aggregatedBy(objects, 'failures-by-target-group')).toEqual(['aws.elb.target_group.id', 'destination.address', 'aws.elb.error.reason']);
    expect(aggregatedBy(objects, 'check-latency')).toEqual(['event.duration', '@timestamp']);
  });

  it('the join: a saved search over connections by aws.elb.conn_trace_id, a keyword in access and connection indices alike', () => {
    const search = render('connection').find((o) => o.type === 'search' && o.id.endsWith('by-trace-id'))!;
    expect(search.attributes.title).toBe('[ALB connections] Connections by trace id (join with access logs)');
    expect(fieldsUsedBy(search).queried).toEqual(['aws.elb.conn_trace_id']);
    expect(mappingOf('access').get('aws.elb.conn_trace_id')).toBe('keyword');
    expect(mappingOf('connection').get('aws.elb.conn_trace_id')).toBe('keyword');
  });

  it('object ids of the three families never clash', () => {
    const ids = LOG_TYPES.flatMap((type) => render(type).map((o) => `${o.type}:${o.id}`));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
