// `npm run bench` / `albatross bench [names...]`: runs each benchmark module and
// prints every figure next to the baseline measured in the same run, first as a
// table on stderr, then as one JSON object on stdout. With several benchmarks, each
// runs in a fresh Node process (same flags), so none inherits another's heap, JIT
// state or already-configured modules (e.g. Powertools loggers made before a bench
// could silence them).
import { spawn } from 'node:child_process';
import { Option, type Command } from 'commander';
import os from 'node:os';

export interface BenchFigure {
  metric: string;        // e.g. 'parseAlbLine lines/s'
  value: number;
  unit: string;          // e.g. 'lines/s', 'MB/s', 'MB'
  baseline?: number;     // same unit, measured in the same run
  baselineName?: string;
  target?: string;       // the target from the issue, e.g. '>= 3x baseline'
  met?: boolean;         // whether the target was met in this run
}
export interface BenchResult { name: string; figures: BenchFigure[]; notes?: string[] }
export interface Bench { name: string; run(): Promise<BenchResult> }

const BENCHES: Record<string, () => Promise<Bench>> = {
  parser: async () => (await import('./parser.ts')).bench,
  transform: async () => (await import('./transform.ts')).bench,
  enrichment: async () => (await import('./enrichment.ts')).bench,
  loader: async () => (await import('./loader.ts')).bench,
  pipeline: async () => (await import('./pipeline.ts')).bench,
  cli: async () => (await import('./cli.ts')).bench,
  'log-types': async () => (await import('./log-types.ts')).bench,
  indexing: async () => (await import('./indexing.ts')).bench,
};

export function machineDescription(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

function formatNumber(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

function printTable(results: BenchResult[]): void {
  const rows = [['bench', 'metric', 'value', 'baseline', 'ratio', 'target', 'met']];
  for (const r of results) {
    for (const f of r.figures) {
      rows.push([
        r.name,
        f.metric,
        `${formatNumber(f.value)} ${f.unit}`,
        f.baseline === undefined ? '' : `${formatNumber(f.baseline)} (${f.baselineName ?? 'baseline'})`,
        f.baseline ? `${(f.value / f.baseline).toFixed(2)}x` : '',
        f.target ?? '',
        f.met === undefined ? '' : f.met ? 'yes' : 'NO',
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) process.stderr.write(row.map((c, i) => c.padEnd(widths[i]!)).join('  ') + '\n');
}

/** Runs one benchmark in a child process of the same command; its result is the last line of its stdout. */
function runInChild(name: string): Promise<BenchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'bench', name, '--child'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
      if (code !== 0) return reject(new Error(`the ${name} benchmark exited with code ${code}`));
      try {
        resolve(JSON.parse(lines[lines.length - 1]!) as BenchResult);
      } catch {
        reject(new Error(`the ${name} benchmark printed no result`));
      }
    });
  });
}

export function register(program: Command): void {
  program
    .command('bench')
    .description(`run benchmarks (${Object.keys(BENCHES).join(', ')}); all when none named`)
    .argument('[names...]', 'benchmarks to run')
    .addOption(new Option('--child', 'run one benchmark and print only its result as JSON (used between processes)').hideHelp())
    .action(async (names: string[], options: { child?: boolean }) => {
      // The SDK's notice that Node 20 support ends in 2027 would interleave with the table (children inherit this).
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      const selected = names.length > 0 ? names : Object.keys(BENCHES);
      const unknown = selected.filter((n) => !(n in BENCHES));
      if (unknown.length > 0) {
        program.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
      }
      if (options.child) {
        if (selected.length !== 1) program.error('--child runs exactly one benchmark');
        const result = await (await BENCHES[selected[0]!]!()).run();
        process.stdout.write(`\n${JSON.stringify(result)}\n`);
        return;
      }
      const results: BenchResult[] = [];
      for (const name of selected) {
        process.stderr.write(`running ${name} benchmark...\n`);
        results.push(selected.length === 1 ? await (await BENCHES[name]!()).run() : await runInChild(name));
      }
      printTable(results);
      process.stdout.write(JSON.stringify({ machine: machineDescription(), date: new Date().toISOString(), results }, null, 2) + '\n');
    });
}
