// `npm run templates:build`: writes the rendered objects of every log type for the default options to
// templates/generated/, as the exact request bodies (usable with curl or the
// Dashboards import UI). test/templates/generated.test.ts fails when they are stale.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_TEMPLATE_OPTIONS, renderTemplates } from './render.ts';
import { DEFAULT_SLOW_REQUEST_SECONDS, toNdjson } from './dashboards.ts';
import { renderLogTypeSavedObjects } from './log-type-dashboards.ts';
import { LOG_TYPE_SPECS, LOG_TYPES } from '../transform/log-types.ts';

export const GENERATED_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'generated');

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** File name -> content, for the default options, every log type's index family. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const type of LOG_TYPES) {
    const options = { ...DEFAULT_TEMPLATE_OPTIONS, indexPrefix: LOG_TYPE_SPECS[type].defaultIndexPrefix };
    const t = renderTemplates(options, LOG_TYPE_SPECS[type].fields);
    const objects = renderLogTypeSavedObjects(type, { indexPrefix: options.indexPrefix, slowRequestSeconds: DEFAULT_SLOW_REQUEST_SECONDS });
    for (const [name, content] of [
      [`component_template.${t.settings.name}.json`, json(t.settings.body)],
      [`component_template.${t.mappings.name}.json`, json(t.mappings.body)],
      [`index_template.${t.indexTemplate.name}.json`, json(t.indexTemplate.body)],
      [`ism_policy.${t.ismPolicy.id}.json`, json(t.ismPolicy.body)],
      [`security_role.${t.firehoseRole.name}.json`, json(t.firehoseRole.body)],
      [`security_role.${t.dashboardsReaderRole.name}.json`, json(t.dashboardsReaderRole.body)],
      [`dashboards.${options.indexPrefix}.ndjson`, toNdjson(objects)],
    ] as const) files.set(name, content);
  }
  return files;
}

export async function writeGeneratedFiles(directory = GENERATED_DIR): Promise<string[]> {
  const files = generatedFiles();
  await mkdir(directory, { recursive: true });
  // Remove files a previous version generated but this one does not.
  for (const name of await readdir(directory)) if (!files.has(name)) await rm(path.join(directory, name));
  for (const [name, content] of files) await writeFile(path.join(directory, name), content);
  return [...files.keys()];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const written = await writeGeneratedFiles();
  process.stdout.write(`Wrote ${written.length} files to ${path.relative(process.cwd(), GENERATED_DIR)}/: ${written.join(', ')}\n`);
}
