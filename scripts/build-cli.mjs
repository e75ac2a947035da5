// Builds the `albatross` CLI bundle (dist/cli/): our TypeScript compiled by esbuild into plain
// ES modules, one chunk per lazily imported command, so a command starts without tsx and loads
// only its own code. Packages stay in node_modules (imported at run time, not bundled).
// Runs as the root package's `prepare` script (npm ci / npm install) and as `npm run build`;
// scripts/albatross.mjs falls back to the sources through tsx while the bundle is missing or
// older than its sources. Plain JavaScript so that it runs before anything is built.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE_DIR = path.join(ROOT, 'dist', 'cli');

/**
 * Modules find files beside them through `import.meta.url` (templates/, the OpenSearch launcher,
 * the samples): in the bundle that URL would be the chunk's, so each source file's
 * `import.meta.url` becomes its own location, relative to the chunk (the checkout can move).
 */
const importMetaUrlOfSource = {
  name: 'import-meta-url-of-source',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      // the entry and every chunk sit in dist/cli/, two levels below the root
      const fromRoot = path.relative(ROOT, args.path).split(path.sep).join('/');
      const contents = source.replaceAll('import.meta.url', `new URL(${JSON.stringify(`../../${fromRoot}`)}, import.meta.url).href`);
      return { contents, loader: 'ts' };
    });
  },
};

const BUNDLED_PACKAGES = ['commander'];

export async function buildCli() {
  const { build } = await import('esbuild');
  const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  const staging = `${BUNDLE_DIR}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const result = await build({
    entryPoints: { cli: path.join(ROOT, 'scripts', 'cli.ts') },
    outdir: staging,
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // packages are loaded from node_modules at run time, except commander, which every command
    // needs: bundled, it loads without Node's CommonJS loader and export scan
    external: Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((name) => !BUNDLED_PACKAGES.includes(name)),
    keepNames: true,
    sourcemap: 'linked',
    // the CommonJS package bundled (commander) requires Node's built-in modules
    banner: { js: "import { createRequire as __albatrossCreateRequire } from 'node:module'; const require = __albatrossCreateRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
    plugins: [importMetaUrlOfSource],
  });
  // The sources the bundle was built from: scripts/albatross.mjs compares their times with the bundle's.
  const inputs = Object.keys(result.metafile.inputs).map((input) => path.relative(ROOT, path.resolve(ROOT, input)).split(path.sep).join('/'));
  await writeFile(path.join(staging, 'inputs.json'), `${JSON.stringify(inputs.sort(), null, 1)}\n`);
  // Swap in whole, so a CLI starting meanwhile sees the old bundle or the new one, never half of one.
  await mkdir(path.dirname(BUNDLE_DIR), { recursive: true });
  const old = `${BUNDLE_DIR}.old-${process.pid}`;
  await rename(BUNDLE_DIR, old).catch((error) => { if (error.code !== 'ENOENT') throw error; });
  await rename(staging, BUNDLE_DIR);
  await rm(old, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await buildCli();
  } catch (error) {
    // e.g. `npm ci --omit=dev` (no esbuild): the install still succeeds, the CLI runs through tsx
    process.stderr.write(`albatross: the CLI bundle was not built (${error.message.split('\n')[0]}); the CLI runs its sources through tsx\n`);
    process.exitCode = process.env.npm_lifecycle_event === 'prepare' ? 0 : 1;
  }
}
