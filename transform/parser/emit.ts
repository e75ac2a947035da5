// The flat record the parser fills (one slot per SCHEMA_FIELDS entry), the
// schema tree both writers walk, and the writer that turns a record into the
// nested document object (json-writer.ts writes it as JSON text). Both follow
// one tree compiled from SCHEMA_FIELDS, so the output can only contain schema
// paths.
import { SCHEMA_FIELDS, type AlbDocument, type SchemaPath } from '../schema/fields.ts';

export type SlotValue = string | number | string[] | { lat: number; lon: number } | undefined;
export type FieldRecord = SlotValue[];

/** Slot index of each schema path. */
export const SLOT = Object.fromEntries(SCHEMA_FIELDS.map((field, index) => [field.path, index])) as Record<SchemaPath, number>;
export const SLOT_COUNT = SCHEMA_FIELDS.length;

/**
 * Fields every document carries with the same value. The parser leaves their
 * slots empty; the writers add them (the JSON writer folds them into its
 * constant text, the object writer makes fresh arrays per document).
 */
export const CONSTANT_VALUES = {
  'event.kind': 'event',
  'event.category': ['web'],
  'event.type': ['access'],
  'cloud.provider': 'aws',
} as const satisfies Partial<Record<SchemaPath, string | readonly string[]>>;

export interface TreeNode {
  key: string;
  jsonKey: string;          // `"key":`, ready to write
  slot: number;             // leaf: slot index; inner node: -1
  children: TreeNode[];
}

function compileTree(): TreeNode[] {
  const root: TreeNode = { key: '', jsonKey: '', slot: -1, children: [] };
  SCHEMA_FIELDS.forEach((field, index) => {
    let node = root;
    const parts = field.path.split('.');
    parts.forEach((part, depth) => {
      const leaf = depth === parts.length - 1;
      let child = node.children.find((c) => c.key === part);
      if (child === undefined) {
        child = { key: part, jsonKey: `${JSON.stringify(part)}:`, slot: leaf ? index : -1, children: [] };
        node.children.push(child);
      } else if (leaf || child.slot !== -1) {
        throw new Error(`schema path ${field.path} collides with another field`);
      }
      node = child;
    });
  });
  return root.children;
}

export const TREE = compileTree();

// The writer is generated once from the schema tree as straight-line code
// (the technique of fast-json-stringify): constant keys, no generic object
// walk. The generated source depends only on SCHEMA_FIELDS.
//
// An object whose fields are all present (most small ones: `{sec}`, `{arn}`,
// `source`, `backend`) is created as one object literal: V8 then allocates it
// with its final shape at once, instead of growing an empty object key by key.
// Otherwise it is built key by key, leaving out what has no value.
let variableCount = 0;

function constantValue(node: TreeNode): string | undefined {
  const path = node.slot === -1 ? undefined : SCHEMA_FIELDS[node.slot]!.path;
  return path !== undefined && path in CONSTANT_VALUES
    ? JSON.stringify(CONSTANT_VALUES[path as keyof typeof CONSTANT_VALUES])
    : undefined;
}

/** Slots of the non-constant leaves under `node`. */
function variableSlots(node: TreeNode): number[] {
  if (node.slot !== -1) return constantValue(node) === undefined ? [node.slot] : [];
  return node.children.flatMap(variableSlots);
}

/** `node` as an object literal, every leaf present. */
function literalCode(node: TreeNode): string {
  // a constant is a fresh literal per document, so a caller changing one document cannot change the next
  if (node.slot !== -1) return constantValue(node) ?? `r[${node.slot}]`;
  return `{${node.children.map((child) => `${JSON.stringify(child.key)}: ${literalCode(child)}`).join(', ')}}`;
}

function objectCode(nodes: TreeNode[], target: string): string {
  let code = '';
  for (const node of nodes) {
    const key = JSON.stringify(node.key);
    const constant = constantValue(node);
    if (constant !== undefined) {
      code += `(${target} ??= {})[${key}] = ${constant};\n`;
    } else if (node.slot !== -1) {
      code += `v = r[${node.slot}]; if (v !== undefined) (${target} ??= {})[${key}] = v;\n`;
    } else {
      const inner = `o${++variableCount}`;
      // (an object of constants only is always complete)
      const complete = variableSlots(node).map((slot) => `r[${slot}] !== undefined`).join(' && ') || 'true';
      code += `if (${complete}) {\n(${target} ??= {})[${key}] = ${literalCode(node)};\n} else {\n` +
        `let ${inner};\n${objectCode(node.children, inner)}if (${inner} !== undefined) (${target} ??= {})[${key}] = ${inner};\n}\n`;
    }
  }
  return code;
}

type ObjectWriter = (record: FieldRecord) => Record<string, unknown> | undefined;

const writeObject = new Function(
  `return function writeObject(r) {\nlet v;\nlet out;\n${objectCode(TREE, 'out')}return out;\n};`,
)() as ObjectWriter;

/** The record as a nested document object. */
export function toDocument(record: FieldRecord): AlbDocument {
  return (writeObject(record) ?? {}) as AlbDocument;
}
