// Tracks which lines of an object are handled while batches complete out of order, and turns
// that into a checkpoint: the contiguous handled prefix plus the accepted line ranges beyond it.
import type { Checkpoint, LineRanges } from './checkpoint.ts';

/** Sorted, disjoint, merged line ranges [start, end). */
export class LineSet {
  private ranges: LineRanges;
  constructor(ranges: LineRanges = []) {
    this.ranges = ranges.map(([s, e]) => [s, e]);
  }

  has(line: number): boolean {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [s, e] = this.ranges[mid]!;
      if (line < s) hi = mid - 1;
      else if (line >= e) lo = mid + 1;
      else return true;
    }
    return false;
  }

  add(line: number): void {
    // Index of the first range ending at or after `line`.
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranges[mid]![1] < line) lo = mid + 1;
      else hi = mid;
    }
    const at = this.ranges[lo];
    if (at && at[0] <= line && line < at[1]) return;
    if (at && at[1] === line) {
      at[1] = line + 1;
      const next = this.ranges[lo + 1];
      if (next && next[0] === at[1]) {
        at[1] = next[1];
        this.ranges.splice(lo + 1, 1);
      }
    } else if (at && at[0] === line + 1) {
      at[0] = line;
    } else {
      this.ranges.splice(lo, 0, [line, line + 1]);
    }
  }

  /** Drops everything below `line`. */
  trimBelow(line: number): void {
    while (this.ranges.length > 0 && this.ranges[0]![1] <= line) this.ranges.shift();
    const first = this.ranges[0];
    if (first && first[0] < line) first[0] = line;
  }

  toArray(): LineRanges {
    return this.ranges.map(([s, e]) => [s, e]);
  }
}

/** A contiguous run of lines whose records go out in one PutRecordBatch. */
export interface Segment {
  endLine: number;   // exclusive
  endByte: number;   // offset after the last line of the segment
  outstanding: number; // records not yet accepted
  sealed: boolean;
}

export class Progress {
  private prefixLines: number;
  private prefixBytes: number;
  private readonly ahead: LineSet;
  private readonly segments: Segment[] = [];
  /** Bumped on every change, so a commit can tell whether it is stale. */
  version = 0;

  constructor(start: Checkpoint) {
    this.prefixLines = start.lines;
    this.prefixBytes = start.bytes;
    this.ahead = new LineSet(start.accepted);
  }

  openSegment(): Segment {
    const segment: Segment = { endLine: this.prefixLines, endByte: this.prefixBytes, outstanding: 0, sealed: false };
    const last = this.segments[this.segments.length - 1];
    if (last) {
      segment.endLine = last.endLine;
      segment.endByte = last.endByte;
    }
    this.segments.push(segment);
    return segment;
  }

  seal(segment: Segment): void {
    segment.sealed = true;
    this.advance();
  }

  accepted(segment: Segment, lines: number[]): void {
    for (const line of lines) this.ahead.add(line);
    segment.outstanding -= lines.length;
    this.advance();
  }

  private advance(): void {
    while (this.segments.length > 0 && this.segments[0]!.sealed && this.segments[0]!.outstanding === 0) {
      const done = this.segments.shift()!;
      this.prefixLines = done.endLine;
      this.prefixBytes = done.endByte;
    }
    this.ahead.trimBelow(this.prefixLines);
    this.version += 1;
  }

  checkpoint(done = false): Checkpoint {
    return { lines: this.prefixLines, bytes: this.prefixBytes, accepted: this.ahead.toArray(), done };
  }
}
