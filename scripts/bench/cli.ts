// CLI benchmark: the `albatross` bin as a user runs it, a whole process per run.
//  - start-up: wall time of `albatross --help` and of `albatross parse` on an empty stdin;
//  - throughput: `albatross parse --enrich none` over the real-mix corpus (CORPUS_LINES lines drawn from
//    the sample access-log lines, as in the parser benchmark) written to a file, output to /dev/null,
//    pinned to one CPU with taskset, next to Vector's VRL `parse_aws_alb_log` (scripts/bench/vrl-harness,
//    a Rust program) doing the same when its release build is there. VRL does not enrich, so the ratio
//    is taken without enrichment; the default (enriched: geo, as, ua) run is measured in the same rounds
//    and reported beside it. Without the harness the figures have no baseline: `npm run bench` needs no Rust.
// Wall times, median of interleaved rounds: other load on the machine slows both sides alike.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { accessLogSampleLines } from '../transform-fixtures.ts';
import { allowedCpus } from './cpu-affinity.ts';
import type { Bench, BenchFigure } from './index.ts';

const BIN = fileURLToPath(new URL('../albatross.mjs', import.meta.url));
export const VRL_HARNESS = fileURLToPath(new URL('vrl-harness/target/release/vrl-alb-harness', import.meta.url));
export const CORPUS_LINES = 300_000;
const START_RUNS = 15;
const PARSE_ROUNDS = 5;
const START_TARGET_MS = 300;

/** The real-mix corpus: sample access-log lines in the parser benchmark's seeded order, `lines` of them. */
export function corpusText(lines: number): string {
  const samples = accessLogSampleLines();
  const mix: string[] = [];
  let seed = 42;
  for (let i = 0; i < lines; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    mix.push(samples[seed % samples.length]!);
  }
  return `${mix.join('\n')}\n`;
}

interface Run { wallMs: number; cpuMs?: number }

// Linux: the shell waits for the command, then its own /proc stat holds the command's CPU time
// (cutime + cstime, fields 16 and 17, in clock ticks of 10 ms): a figure that other load on the
// machine disturbs less than the wall time.
const WITH_CPU_TIME = '"$@" >/dev/null; status=$?; cat /proc/$$/stat; exit $status';
const CLOCK_TICK_MS = 10;

/** Runs `command` with stdin from `stdin` (a path) and stdout to /dev/null. Rejects on an exit code other than 0. */
async function timed(command: string, args: string[], stdin: string): Promise<Run> {
  const input = await open(stdin, 'r');
  try {
    const started = process.hrtime.bigint();
    const withCpu = process.platform === 'linux';
    const [file, argv] = withCpu ? ['sh', ['-c', WITH_CPU_TIME, 'sh', command, ...args]] : [command, args];
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(file, argv, { stdio: [input.fd, withCpu ? 'pipe' : 'ignore', 'ignore'] });
      let stdout = '';
      child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (code !== 0) throw new Error(`${path.basename(command)} ${args.join(' ')} exited with ${code}`);
    // fields after the command name (which is in parentheses): state is field 3, cutime 16, cstime 17
    const fields = stdout.slice(stdout.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? { wallMs, cpuMs: ticks * CLOCK_TICK_MS } : { wallMs };
  } finally {
    await input.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export const bench: Bench = {
  name: 'cli',
  async run() {
    const work = await mkdtemp(path.join(os.tmpdir(), 'albatross-bench-cli-'));
    try {
      const empty = path.join(work, 'empty.log');
      const corpus = path.join(work, 'mix.log');
      await writeFile(empty, '');
      await writeFile(corpus, corpusText(CORPUS_LINES));

      const help: Run[] = [];
      const parseEmpty: Run[] = [];
      for (let run = 0; run < START_RUNS; run++) {
        help.push(await timed(BIN, ['--help'], empty));
        parseEmpty.push(await timed(BIN, ['parse'], empty));
      }

      // One CPU for the whole process (Node's helper threads and GC included), as for the Rust side.
      const cpu = allowedCpus(process.pid)?.[0];
      const pinned = (command: string, args: string[]): [string, string[]] =>
        cpu === undefined ? [command, args] : ['taskset', ['-c', String(cpu), command, ...args]];
      const harness = existsSync(VRL_HARNESS);
      const ours: Run[] = [];
      const enriched: Run[] = [];
      const vrl: Run[] = [];
      for (let round = 0; round < PARSE_ROUNDS; round++) {
        ours.push(await timed(...pinned(BIN, ['parse', '--enrich', 'none', corpus]), empty));
        enriched.push(await timed(...pinned(BIN, ['parse', '--enrich', 'all', corpus]), empty));
        // VRL rejects some lines (the 25-field format): it reports them on stderr and exits 0
        if (harness) vrl.push(await timed(...pinned(VRL_HARNESS, [corpus]), empty));
      }

      const wall = (runs: Run[]): number => median(runs.map((run) => run.wallMs));
      const cpuMs = (runs: Run[]): number | undefined => (runs.every((run) => run.cpuMs !== undefined) ? median(runs.map((run) => run.cpuMs!)) : undefined);
      const startFigure = (metric: string, runs: Run[]): BenchFigure => ({
        metric, value: wall(runs), unit: 'ms', target: `<= ${START_TARGET_MS} ms`, met: wall(runs) <= START_TARGET_MS,
      });
      const rate = (ms: number): number => CORPUS_LINES / (ms / 1000);
      const parseFigure = (metric: string, ourMs: number, vrlMs: number | undefined, target?: string): BenchFigure => ({
        metric, value: rate(ourMs), unit: 'lines/s',
        ...(vrlMs !== undefined && { baseline: rate(vrlMs), baselineName: 'Vector VRL parse_aws_alb_log' }),
        ...(vrlMs !== undefined && target !== undefined && { target, met: ourMs <= vrlMs }),
      });
      const figures = [
        startFigure('albatross --help, wall', help),
        startFigure('albatross parse, empty input, wall', parseEmpty),
        parseFigure(`albatross parse --enrich none, ${CORPUS_LINES.toLocaleString('en-US')} lines, one CPU, wall`, wall(ours), harness ? wall(vrl) : undefined, '>= 1.0x baseline'),
      ];
      const ourCpu = cpuMs(ours);
      const vrlCpu = harness ? cpuMs(vrl) : undefined;
      if (ourCpu !== undefined) figures.push(parseFigure('albatross parse --enrich none, same runs, CPU time', ourCpu, vrlCpu));
      figures.push(parseFigure('albatross parse (enriched: geo, as, ua; VRL does not enrich), same rounds, wall', wall(enriched), harness ? wall(vrl) : undefined));
      const enrichedCpu = cpuMs(enriched);
      if (enrichedCpu !== undefined) figures.push(parseFigure('albatross parse (enriched), same rounds, CPU time', enrichedCpu, vrlCpu));
      const seconds = (runs: Run[], of: (run: Run) => number | undefined): string => runs.map((run) => ((of(run) ?? NaN) / 1000).toFixed(2)).join(' ');
      return {
        name: 'cli',
        figures,
        notes: [
          `start-up: median of ${START_RUNS} runs of the bin file; --help wall ${seconds(help, (r) => r.wallMs)} s, CPU ${seconds(help, (r) => r.cpuMs)} s`,
          `parse: per process, ${PARSE_ROUNDS} interleaved rounds, ${cpu === undefined ? 'not pinned (no taskset)' : `pinned to CPU ${cpu}`}, stdout to /dev/null; ` +
            `ours (--enrich none) wall ${seconds(ours, (r) => r.wallMs)} s, CPU ${seconds(ours, (r) => r.cpuMs)} s; ` +
            `enriched wall ${seconds(enriched, (r) => r.wallMs)} s, CPU ${seconds(enriched, (r) => r.cpuMs)} s` +
            (harness ? `; VRL wall ${seconds(vrl, (r) => r.wallMs)} s, CPU ${seconds(vrl, (r) => r.cpuMs)} s` : ''),
          harness
            ? 'VRL harness: scripts/bench/vrl-harness (vrl crate, `. = parse_aws_alb_log!(.message)` compiled once, serde_json per result)'
            : 'no VRL baseline: build it with `cargo build --release` in scripts/bench/vrl-harness (docs/benchmarks.md)',
        ],
      };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
};
