// Turns a flat record (one slot per SCHEMA_FIELDS entry) into the nested
// document, either as an object or directly as JSON text. Both walk one tree
// compiled from SCHEMA_FIELDS, so the output can only contain schema paths, and
// the JSON writer skips JSON.stringify's generic object walk (measured: it
// cost more than parsing the line).
import { SCHEMA_FIELDS, type AlbDocument, type SchemaPath } from '../schema/fields.ts';

export type SlotValue = string | number | string[] | undefined;
export type FieldRecord = SlotValue[];

/** Slot index of each schema path. */
export const SLOT = Object.fromEntries(SCHEMA_FIELDS.map((field, index) => [field.path, index])) as Record<SchemaPath, number>;
export const SLOT_COUNT = SCHEMA_FIELDS.length;

interface TreeNode {
  key: string;
  jsonKey: string;          // `"key":`
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

const TREE = compileTree();

/** Characters JSON must escape: quote, backslash, controls, and (lone) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function jsonString(text: string, clean: boolean): string {
  return clean || !NEEDS_ESCAPE.test(text) ? `"${text}"` : JSON.stringify(text);
}

function jsonValue(value: string | number | string[], clean: boolean): string {
  if (typeof value === 'string') return jsonString(value, clean);
  if (typeof value === 'number') return `${value}`;
  let out = '[';
  for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + jsonString(value[i]!, clean);
  return out + ']';
}

function writeJson(nodes: TreeNode[], record: FieldRecord, clean: boolean): string {
  let out = '';
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    let text: string;
    if (node.slot !== -1) {
      const value = record[node.slot];
      if (value === undefined) continue;
      text = jsonValue(value, clean);
    } else {
      text = writeJson(node.children, record, clean);
      if (text === '') continue;
    }
    out += (out === '' ? '{' : ',') + node.jsonKey + text;
  }
  return out === '' ? '' : out + '}';
}

function writeObject(nodes: TreeNode[], record: FieldRecord): Record<string, unknown> | undefined {
  let object: Record<string, unknown> | undefined;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    let value: unknown;
    if (node.slot !== -1) {
      value = record[node.slot];
      if (value === undefined) continue;
    } else {
      value = writeObject(node.children, record);
      if (value === undefined) continue;
    }
    (object ??= {})[node.key] = value;
  }
  return object;
}

/**
 * The record as JSON text: what JSON.stringify(toDocument(record)) gives, faster.
 * `clean` promises that no string in the record needs JSON escaping (the
 * parser checks the whole line once instead of every value).
 */
export function toJson(record: FieldRecord, clean = false): string {
  return writeJson(TREE, record, clean) || '{}';
}

/** The record as a nested document object. */
export function toDocument(record: FieldRecord): AlbDocument {
  return (writeObject(TREE, record) ?? {}) as AlbDocument;
}
