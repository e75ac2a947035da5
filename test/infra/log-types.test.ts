// One delivery stream per ALB log type (Firehose writes one index family per stream): by default three,
// each with its own transform configuration, templates, backup bucket and alarms; -c logTypes narrows them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findResource, logicalIds, synthesize, type Synthesized } from './synth.ts';

let all: Synthesized;
let withoutAccess: Synthesized;
beforeAll(() => {
  all = synthesize({ region: 'eu-west-1' }, { bundle: false });
  withoutAccess = synthesize({ region: 'eu-west-1', logTypes: 'health,connection', connectionIndexPrefix: 'tls-logs' }, { bundle: false });
}, 180_000);
afterAll(() => {
  all?.cleanup();
  withoutAccess?.cleanup();
});

type Json = Synthesized['json'];
const streams = (json: Json) => logicalIds(json, 'AWS::KinesisFirehose::DeliveryStream').map((id) => ({ id, config: json.Resources[id]!.Properties.AmazonopensearchserviceDestinationConfiguration }));
const transformOf = (json: Json, config: any) => {
  const arn = config.ProcessingConfiguration.Processors[0].Parameters.find((p: any) => p.ParameterName === 'LambdaArn').ParameterValue;
  return json.Resources[arn['Fn::GetAtt'][0]]!.Properties;
};
const loaderEnvironment = (json: Json) =>
  findResource(json, 'AWS::Lambda::Function', (p) => String(p.Description).startsWith('Albatross: ALB log object')).resource.Properties.Environment.Variables;
const alarmsOn = (json: Json, metricName: string) =>
  Object.values(json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === metricName).map((r) => r.Properties.Dimensions);
function nagClean(synth: Synthesized): void {
  const [report] = synth.validationReport.pluginReports;
  expect(report!.violations ?? []).toEqual([]);
  expect(report!.conclusion).toBe('success');
}

describe('log types in the stack', () => {
  it('by default delivers three log types through three streams into alb-logs, alb-connection and alb-health', () => {
    const found = streams(all.json);
    expect(found.map((s) => s.config.IndexName).sort()).toEqual(['alb-connection', 'alb-health', 'alb-logs']);
    // the access-log stream keeps its construct path (no resource replaced on upgrade)
    expect(found.find((s) => s.config.IndexName === 'alb-logs')!.id).toMatch(/^DeliveryStream/);
    // each stream's transform parses its own type; the access one is configured as before
    expect(found.map((s) => [s.config.IndexName, transformOf(all.json, s.config).Environment.Variables.ALBATROSS_LOG_TYPE]).sort()).toEqual([
      ['alb-connection', 'connection'], ['alb-health', 'health'], ['alb-logs', undefined],
    ]);
    // each its own backup bucket and error prefixes, as the access stream
    expect(new Set(found.map((s) => JSON.stringify(s.config.S3Configuration.BucketARN))).size).toBe(3);
    for (const s of found) expect(s.config.S3Configuration.ErrorOutputPrefix).toBe('errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/');
    nagClean(all);
  });

  it('the loader names each stream in its own variable and may put records into the three only', () => {
    const environment = loaderEnvironment(all.json);
    for (const name of ['ALBATROSS_DELIVERY_STREAM', 'ALBATROSS_CONNECTION_DELIVERY_STREAM', 'ALBATROSS_HEALTH_DELIVERY_STREAM']) expect(environment[name]).toHaveProperty('Ref');
    const statements = Object.values(all.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((s: any) => s.Action === 'firehose:PutRecordBatch');
    expect(statements).toHaveLength(1);
    expect(statements[0].Resource).toHaveLength(3);
  });

  it('installs templates for each family before any stream delivers, with its own Firehose role', () => {
    const resources = logicalIds(all.json, 'Custom::AlbatrossTemplates').map((id) => all.json.Resources[id]!.Properties);
    expect(resources.map((p) => [p.IndexPrefix, p.LogType]).sort()).toEqual([['alb-connection', 'connection'], ['alb-health', 'health'], ['alb-logs', undefined]]);
    expect(new Set(resources.map((p) => JSON.stringify(p.FirehoseRoleArn))).size).toBe(3);
    const templateIds = logicalIds(all.json, 'Custom::AlbatrossTemplates');
    for (const { id } of streams(all.json)) expect(all.json.Resources[id]!.DependsOn).toEqual(expect.arrayContaining(templateIds));
  });

  it('raises the same stream alarms for every stream: delivery, processing failures per transform service, invocation', () => {
    const names = (dimensions: any[][]) => dimensions.map((d) => JSON.stringify(d[0].Value)).sort();
    expect(alarmsOn(all.json, 'DeliveryToAmazonOpenSearchService.Success')).toHaveLength(3);
    expect(alarmsOn(all.json, 'ExecuteProcessing.Success')).toHaveLength(3);
    expect(new Set(names(alarmsOn(all.json, 'DeliveryToAmazonOpenSearchService.Success'))).size).toBe(3);
    expect(alarmsOn(all.json, 'RecordsProcessingFailed').map((d) => d[0].Value).sort()).toEqual(['albatross-transform', 'albatross-transform-connection', 'albatross-transform-health']);
    expect(alarmsOn(all.json, 'Errors')).toHaveLength(5);    // loader, three transforms, replayer
    expect(alarmsOn(all.json, 'Throttles')).toHaveLength(5); // loader and three transforms (AWS/Lambda), the loader's send throttles (EMF)
  });

  it('-c logTypes=health,connection: two streams, the loader without an access-log stream', () => {
    expect(streams(withoutAccess.json).map((s) => s.config.IndexName).sort()).toEqual(['alb-health', 'tls-logs']);
    const environment = loaderEnvironment(withoutAccess.json);
    expect(environment.ALBATROSS_DELIVERY_STREAM).toBeUndefined();
    expect(environment.ALBATROSS_CONNECTION_DELIVERY_STREAM).toHaveProperty('Ref');
    expect(environment.ALBATROSS_HEALTH_DELIVERY_STREAM).toHaveProperty('Ref');
    expect(alarmsOn(withoutAccess.json, 'RecordsProcessingFailed').map((d) => d[0].Value).sort()).toEqual(['albatross-transform-connection', 'albatross-transform-health']);
    nagClean(withoutAccess);
  });

  it('refuses overlapping index prefixes and unknown log types', () => {
    expect(() => synthesize({ indexPrefix: 'alb' }, { bundle: false })).toThrow(/index prefixes overlap: the access prefix "alb" also matches the connection indices alb-connection-\*/);
    expect(() => synthesize({ logTypes: 'access,nlb' }, { bundle: false })).toThrow(/context logTypes must be a comma-separated list/);
  });
});
