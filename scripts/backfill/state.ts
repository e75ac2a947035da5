// The resumable part of a backfill: which objects are completely indexed. Written atomically
// (temporary file + rename) after each object, so an interrupted run loses at most the objects in
// flight, and those are re-indexed with the same _id (event.id) next time: no duplicates.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SourceObject } from './sources.ts';

export interface ObjectCounts { lines: number; indexed: number; failed: number; skipped: number; outOfRange: number }

interface StateDocument {
  version: 1;
  source: string;
  completed: Record<string, { version: string } & ObjectCounts>;
}

export class BackfillState {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly document: StateDocument,
  ) {}

  static async load(file: string, source: string): Promise<BackfillState> {
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === undefined) return new BackfillState(file, { version: 1, source, completed: {} });
    let document: StateDocument;
    try {
      document = JSON.parse(text) as StateDocument;
    } catch {
      throw new Error(`state file ${file} is not valid JSON; move it away to start over`);
    }
    if (document.version !== 1 || typeof document.completed !== 'object') throw new Error(`state file ${file} has an unknown format`);
    if (document.source !== source) {
      throw new Error(`state file ${file} belongs to a backfill of ${document.source}, not ${source}; use another --state file`);
    }
    return new BackfillState(file, document);
  }

  isDone(object: SourceObject): boolean {
    return this.document.completed[object.key]?.version === object.version;
  }

  get completedCount(): number {
    return Object.keys(this.document.completed).length;
  }

  async markDone(object: SourceObject, counts: ObjectCounts): Promise<void> {
    this.document.completed[object.key] = { version: object.version, ...counts };
    // Serialize writes: the last write always carries every completed object.
    this.writing = this.writing.then(() => this.save());
    await this.writing;
  }

  private async save(): Promise<void> {
    await mkdir(path.dirname(path.resolve(this.file)), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(this.document) + '\n');
    await rename(temporary, this.file);
  }
}
