// CPU affinity for the pipeline benchmark's "separate cores" layout: the engine's JVM on one half
// of the CPUs this process may use, the pipeline's Node process on the other, so neither takes
// CPU time from the other (as in AWS, where Firehose and Lambda do not run on the OpenSearch
// nodes). Node has no affinity API; util-linux `taskset` sets it for every thread of a process
// (threads created later inherit it). Linux only.
import { execFileSync } from 'node:child_process';

/** Parses a CPU list as taskset prints it ("0-3,6,8-9") into CPU numbers. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!range) throw new Error(`not a CPU list: '${list}'`);
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The CPUs `pid` may run on, or undefined where they cannot be read and set (no Linux, no taskset). */
export function allowedCpus(pid: number): number[] | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const output = execFileSync('taskset', ['-c', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const list = /list:\s*(\S+)/.exec(output)?.[1];
    return list === undefined ? undefined : parseCpuList(list);
  } catch {
    return undefined;
  }
}

/** Restricts every thread of `pid` to `cpus`. */
export function pinProcess(pid: number, cpus: readonly number[]): void {
  execFileSync('taskset', ['-a', '-c', '-p', cpus.join(','), String(pid)], { stdio: 'ignore' });
}

/**
 * Splits `cpus` into two non-empty halves (the second gets the odd one out), or undefined when
 * there are fewer than two.
 */
export function splitCpus(cpus: readonly number[]): [number[], number[]] | undefined {
  if (cpus.length < 2) return undefined;
  const half = Math.floor(cpus.length / 2);
  return [cpus.slice(0, half), cpus.slice(half)];
}
