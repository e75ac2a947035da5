#!/usr/bin/env -S node --max-semi-space-size=64
// The `albatross` command. Runs the CLI bundle (dist/cli/, built from scripts/cli.ts by
// scripts/build-cli.mjs during `npm ci`, or `npm run build`): plain JavaScript starts in a
// fraction of the time tsx takes to compile the sources. While the bundle is missing (e.g.
// `npm ci --ignore-scripts`) or older than a source it was built from, the sources run through
// tsx instead, after a one-line hint.
// --max-semi-space-size=64 (MiB; Node 20's default is 16): the demo, backfill and benchmarks
// allocate many short-lived strings per log line; a larger young generation cut the local
// pipeline's Node CPU per document from 42-48 to 30-34 µs (A/B runs of 16/32/64/128 MiB, docs/benchmarks.md).
// `npm run demo`/`bench` pass it too.
import { readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const bundleDir = new URL('dist/cli/', root);

/** Why the bundle cannot be used, or undefined when it is there and newer than all its sources. */
function bundleProblem() {
  let builtAt;
  let inputs;
  try {
    builtAt = statSync(new URL('cli.js', bundleDir)).mtimeMs;
    inputs = JSON.parse(readFileSync(new URL('inputs.json', bundleDir), 'utf8'));
  } catch {
    return 'the CLI bundle (dist/cli) is missing';
  }
  for (const input of inputs) {
    const changedAt = statSync(new URL(input, root), { throwIfNoEntry: false })?.mtimeMs;
    if (changedAt === undefined || changedAt > builtAt) return `the CLI bundle (dist/cli) is older than ${input}`;
  }
  return undefined;
}

// Source maps only for stack traces someone asked for: they cost start-up time otherwise.
if (process.env.ALBATROSS_DEBUG) process.setSourceMapsEnabled(true);
const problem = bundleProblem();
if (problem === undefined) {
  await import(new URL('cli.js', bundleDir).href);
} else {
  process.stderr.write(`albatross: ${problem}; running the sources through tsx (slower start). \`npm run build\` rebuilds it.\n`);
  const { register } = await import('tsx/esm/api');
  register();
  await import('./cli.ts');
}
