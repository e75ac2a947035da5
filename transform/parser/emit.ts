// Turns a flat record (one slot per SCHEMA_FIELDS entry) into the nested
// document, either as an object or directly as JSON text. Both walk one tree
// compiled from SCHEMA_FIELDS, so the output can only contain schema paths, and
// the JSON writer skips JSON.stringify's generic object walk (measured: it
// cost more than parsing the line).
import { jsTypeOf, SCHEMA_FIELDS, type AlbDocument, type SchemaPath } from '../schema/fields.ts';

export type SlotValue = string | number | string[] | undefined;
export type FieldRecord = SlotValue[];

/** Slot index of each schema path. */
export const SLOT = Object.fromEntries(SCHEMA_FIELDS.map((field, index) => [field.path, index])) as Record<SchemaPath, number>;
export const SLOT_COUNT = SCHEMA_FIELDS.length;

interface TreeNode {
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

const TREE = compileTree();

/** Characters JSON must escape: quote, backslash, controls, and (lone) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `text` as it goes between JSON quotes. */
function escapedInner(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}

function jsonArray(values: string[], clean: boolean): string {
  let out = '"';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : '","') + (clean ? values[i] : escapedInner(values[i]!));
  return out + '"]';
}

// The writers are generated once from the schema tree as straight-line code
// (the technique of fast-json-stringify): constant keys (with their comma and
// the value's opening quote folded in), types known per field, no generic
// object walk. The generated source depends only on SCHEMA_FIELDS.
let variableCount = 0;

function jsonCode(nodes: TreeNode[], target: string): string {
  let code = '';
  for (const node of nodes) {
    const key = (open: string): string =>
      `(${target} === '' ? ${JSON.stringify(`${node.jsonKey}${open}`)} : ${JSON.stringify(`,${node.jsonKey}${open}`)})`;
    if (node.slot !== -1) {
      const field = SCHEMA_FIELDS[node.slot]!;
      const value = 'array' in field && field.array ? `${key('[')} + jsonArray(v, clean)`
        : jsTypeOf(field.type) === 'number' ? `${key('')} + v`
          : `${key('"')} + (clean ? v : escapedInner(v)) + '"'`;
      code += `v = r[${node.slot}]; if (v !== undefined) ${target} += ${value};\n`;
    } else {
      const inner = `s${++variableCount}`;
      code += `let ${inner} = '';\n${jsonCode(node.children, inner)}`;
      code += `if (${inner} !== '') ${target} += ${key('{')} + ${inner} + '}';\n`;
    }
  }
  return code;
}

function objectCode(nodes: TreeNode[], target: string): string {
  let code = '';
  for (const node of nodes) {
    const key = JSON.stringify(node.key);
    if (node.slot !== -1) {
      code += `v = r[${node.slot}]; if (v !== undefined) (${target} ??= {})[${key}] = v;\n`;
    } else {
      const inner = `o${++variableCount}`;
      code += `let ${inner};\n${objectCode(node.children, inner)}if (${inner} !== undefined) (${target} ??= {})[${key}] = ${inner};\n`;
    }
  }
  return code;
}

type JsonWriter = (record: FieldRecord, clean: boolean) => string;
type ObjectWriter = (record: FieldRecord) => Record<string, unknown> | undefined;

const writeJson = new Function('escapedInner', 'jsonArray',
  `return function writeJson(r, clean) {\nlet v;\nlet out = '';\n${jsonCode(TREE, 'out')}return '{' + out + '}';\n};`,
)(escapedInner, jsonArray) as JsonWriter;

const writeObject = new Function(
  `return function writeObject(r) {\nlet v;\nlet out;\n${objectCode(TREE, 'out')}return out;\n};`,
)() as ObjectWriter;

/**
 * The record as JSON text: what JSON.stringify(toDocument(record)) gives, faster.
 * `clean` promises that no string in the record needs JSON escaping (the
 * parser checks the whole line once instead of every value).
 */
export function toJson(record: FieldRecord, clean = false): string {
  return writeJson(record, clean);
}

/** The record as a nested document object. */
export function toDocument(record: FieldRecord): AlbDocument {
  return (writeObject(record) ?? {}) as AlbDocument;
}
