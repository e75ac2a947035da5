// CPU pinning for the pipeline benchmark's separate-cores layout: the list format, the split, and
// pinning a real child process with taskset.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { allowedCpus, parseCpuList, pinProcess, splitCpus } from '../../../scripts/bench/cpu-affinity.ts';

describe('parseCpuList', () => {
  it('reads single CPUs and ranges as taskset prints them', () => {
    expect(parseCpuList('0,1')).toEqual([0, 1]);
    expect(parseCpuList('0-3,6,8-9\n')).toEqual([0, 1, 2, 3, 6, 8, 9]);
  });

  it('refuses what is not a CPU list', () => {
    expect(() => parseCpuList('0,a')).toThrow(/not a CPU list/);
    expect(() => parseCpuList('')).toThrow(/not a CPU list/);
  });
});

describe('splitCpus', () => {
  it('gives each side at least one CPU, the second the odd one out', () => {
    expect(splitCpus([0, 1])).toEqual([[0], [1]]);
    expect(splitCpus([0, 1, 2])).toEqual([[0], [1, 2]]);
    expect(splitCpus([2, 3, 6, 7])).toEqual([[2, 3], [6, 7]]);
  });

  it('cannot split a single CPU', () => {
    expect(splitCpus([0])).toBeUndefined();
  });
});

describe('allowedCpus and pinProcess', () => {
  it('pins every thread of a real process and reads the affinity back', async () => {
    const cpus = allowedCpus(process.pid);
    if (process.platform !== 'linux') {
      expect(cpus).toBeUndefined();
      return;
    }
    expect(cpus!.length).toBeGreaterThan(0);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      const last = cpus![cpus!.length - 1]!;
      pinProcess(child.pid!, [last]);
      expect(allowedCpus(child.pid!)).toEqual([last]);
      pinProcess(child.pid!, cpus!);
      expect(allowedCpus(child.pid!)).toEqual(cpus);
    } finally {
      child.kill();
    }
  });

  it('has nothing to report for a process that does not exist', () => {
    expect(allowedCpus(2 ** 22 + 12_345)).toBeUndefined();
  });
});
