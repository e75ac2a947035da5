// Synthesizes the real CDK app (infra/albatross-app.ts, cdk-nag plugin included) into a temporary cloud
// assembly, so tests assert on exactly what `cdk synth` produces. One synthesis per test file: bundling the
// three functions with esbuild takes seconds on this machine.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../../infra/albatross-app.ts';
import type { AlbatrossStack } from '../../infra/albatross-stack.ts';

export interface Synthesized {
  stack: AlbatrossStack;
  template: Template;
  /** The raw template JSON. */
  json: { Resources: Record<string, { Type: string; Properties?: any; DependsOn?: string[] }>; Outputs?: Record<string, any> };
  /** cdk-nag/validation report written next to the template. */
  validationReport: {
    pluginReports: Array<{
      pluginName: string;
      conclusion: string;
      violations?: Array<{ ruleName: string; severity: string }>;
      suppressedViolations?: Array<{ ruleName: string; reason: string; severity: string }>;
    }>;
  };
  outdir: string;
  cleanup(): void;
}

export function synthesize(context: Record<string, unknown>, options: { bundle: boolean }): Synthesized {
  const outdir = mkdtempSync(path.join(tmpdir(), 'albatross-cdk-'));
  // 'aws:cdk:bundling-stacks': [] skips asset bundling (the entries must still exist).
  const { app, stack } = createApp({ outdir, context: options.bundle ? context : { ...context, 'aws:cdk:bundling-stacks': [] } });
  const assembly = app.synth();
  const json = assembly.getStackArtifact(stack.artifactId).template;
  return {
    stack,
    template: Template.fromJSON(json),
    json,
    validationReport: JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')),
    outdir,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/** Logical ids of the resources of a type. */
export function logicalIds(json: Synthesized['json'], type: string): string[] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type).map(([id]) => id);
}

/** The one resource of `type` whose properties contain `match` (deep partial match on top-level keys). */
export function findResource(json: Synthesized['json'], type: string, predicate: (properties: any, id: string) => boolean = () => true):
  { id: string; resource: { Type: string; Properties?: any; DependsOn?: string[] } } {
  const found = Object.entries(json.Resources).filter(([id, r]) => r.Type === type && predicate(r.Properties ?? {}, id));
  if (found.length !== 1) throw new Error(`expected exactly one ${type} matching, found ${found.length}`);
  return { id: found[0]![0], resource: found[0]![1] };
}
