// The committed JSON in templates/generated/ must be exactly what the generator
// produces now: run `npm run templates:build` after changing the schema or templates.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_DIR, generatedFiles } from '../../templates/build.ts';

describe('templates/generated', () => {
  it('holds exactly the generated files, byte for byte', async () => {
    const expected = generatedFiles();
    expect((await readdir(GENERATED_DIR)).sort()).toEqual([...expected.keys()].sort());
    for (const [name, content] of expected) {
      expect(await readFile(path.join(GENERATED_DIR, name), 'utf8'), `${name} is stale: run npm run templates:build`).toBe(content);
    }
  });

  it('files are the request bodies: JSON objects and one saved object per NDJSON line', () => {
    for (const [name, content] of generatedFiles()) {
      if (name.endsWith('.json')) expect(typeof JSON.parse(content)).toBe('object');
      else for (const line of content.trimEnd().split('\n')) expect(JSON.parse(line)).toHaveProperty('id');
    }
  });
});
