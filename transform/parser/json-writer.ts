// Writes a flat record (one slot per SCHEMA_FIELDS entry) as the JSON text of
// the nested document: byte for byte what JSON.stringify(toDocument(record))
// gives, without building the object or walking it generically.
//
// Why it looks like this (measured, see docs/benchmarks.md#parser): building a
// ~1.8 KB JSON string costs about one string allocation per `+` plus one copy
// of every piece when V8 flattens the result, and both grow with the NUMBER of
// pieces, not with the bytes. So the writer appends each present value with
// exactly two `+`: `out + prefix + value`, where `prefix` is one precomputed
// constant holding everything between the previous value and this one:
//   - what is still open after the previous value: its closing `"` or `]`, and
//     the `}` of every object closed since (the "pending" state `st`),
//   - the comma, and `"key":{` for every enclosing object not yet opened,
//   - the key and the value's opening `"` or `[`.
// Constant fields (CONSTANT_VALUES) are folded into the prefix with their
// value. The code is generated once from the schema tree as straight-line code
// (the technique of fast-json-stringify), so the output can only contain
// schema paths.
import { jsTypeOf, SCHEMA_FIELDS, type SchemaField } from '../schema/fields.ts';
import { CONSTANT_VALUES, TREE, type FieldRecord, type TreeNode } from './emit.ts';

/** Characters JSON must escape: quote, backslash, controls, and (lone) surrogates. */
export const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `text` as it goes between JSON quotes. */
function escapedInner(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}

/** The items of a non-empty array between its first `"` and its last `"`: `a","b`. */
function arrayItems(values: string[], clean: boolean): string {
  let out = clean ? values[0]! : escapedInner(values[0]!);
  for (let i = 1; i < values.length; i++) out = out + '","' + (clean ? values[i]! : escapedInner(values[i]!));
  return out;
}

// Pending state after a value: st = TAIL + 4 * (objects closed since, whose `}` is not written yet).
const TAILS = ['', '"', ']', '"]'];
const TAIL_NONE = 0;
const TAIL_QUOTE = 1;
const TAIL_BRACKET = 2;
const TAIL_QUOTE_BRACKET = 3;

function depthOf(nodes: TreeNode[]): number {
  return Math.max(0, ...nodes.map((node) => (node.slot === -1 ? 1 + depthOf(node.children) : 0)));
}
const STATES = TAILS.length * (depthOf(TREE) + 1);

/** What the pending state `st` still has to write. */
function closers(st: number): string {
  return TAILS[st % TAILS.length]! + '}'.repeat(Math.floor(st / TAILS.length));
}

/**
 * How generated writer code appends to its output. The tree walk, the prefix tables and the
 * pending-state bookkeeping are shared; a dialect says how a piece and a value are appended:
 * the string writer below, the byte writer of the fast path (fast-access.ts).
 */
export interface WriterDialect {
  /** Table element for the piece `text` (a string here, its bytes in the byte writer). */
  piece(text: string): unknown;
  /** Expression for a piece written while no enclosing object is open yet; undefined: a table element like the others. */
  literal(text: string): string | undefined;
  /** Statement appending a run of constant fields, given the expression of its piece. */
  constant(piece: string): string;
  /**
   * The code of one field: appends `prefix(keyText)` (the piece before the value, `keyText`
   * being the key and the value's opening), the value and sets `st`; runs `open` when present.
   */
  field(slot: number, field: SchemaField, jsonKey: string, prefix: (keyText: string) => string, open: string): string;
}

export interface GeneratedWriter {
  /** Straight-line code over `st` and the object flags; the dialect's own variables around it. */
  body: string;
  /** Prefix tables, indexed by st; the code refers to table i as t<i>. */
  tables: unknown[][];
  /** What closes the document in state st (its `}` included). */
  finals: string[];
}

interface Generator {
  dialect: WriterDialect;
  tables: unknown[][];
  objects: number;       // object flag variables o1..oN (o0 = the root)
}

function tableRef(gen: Generator, texts: string[]): string {
  gen.tables.push(texts.map((text) => gen.dialect.piece(text)));
  return `t${gen.tables.length - 1}`;
}

/**
 * Expression for the prefix of a value with text `keyText` (`"key":` plus the
 * value's opening) inside the object chain `chain` (innermost last; chain[0]
 * is the root's flag). The objects between the innermost opened one and the
 * value are opened here; which one that is, is only known at run time.
 */
function prefix(gen: Generator, chain: { flag: string; jsonKey: string }[], keyText: string): string {
  const table = (opened: number): string => {
    // chain[0..opened] are open; chain[opened+1..] get opened by this prefix
    const opens = chain.slice(opened + 1).map((object) => `${object.jsonKey}{`).join('');
    const values: string[] = [];
    for (let st = 0; st < STATES; st++) values.push(`${closers(st)},${opens}${keyText}`);
    return `${tableRef(gen, values)}[st]`;
  };
  // nothing written yet at all: no comma, nothing pending
  const opensFromRoot = chain.slice(1).map((object) => `${object.jsonKey}{`).join('');
  let expression = gen.dialect.literal(`${opensFromRoot}${keyText}`) ?? `${tableRef(gen, [`${opensFromRoot}${keyText}`])}[0]`;
  for (let opened = 0; opened < chain.length; opened++) expression = `(${chain[opened]!.flag} ? ${table(opened)} : ${expression})`;
  return expression;
}

function markOpen(chain: { flag: string }[]): string {
  return `${chain.map((object) => object.flag).join(' = ')} = true;`;
}

function jsonCode(gen: Generator, nodes: TreeNode[], chain: { flag: string; jsonKey: string }[]): string {
  let code = '';
  for (let n = 0; n < nodes.length; n++) {
    const node = nodes[n]!;
    if (node.slot === -1) {
      const flag = `o${++gen.objects}`;
      const inner = [...chain, { flag, jsonKey: node.jsonKey }];
      code += `let ${flag} = false;\n${jsonCode(gen, node.children, inner)}if (${flag}) st += ${TAILS.length};\n`;
      continue;
    }
    const path = SCHEMA_FIELDS[node.slot]!.path;
    if (path in CONSTANT_VALUES) {
      // a run of constant fields is one piece
      let text = '';
      for (; n < nodes.length && nodes[n]!.slot !== -1 && SCHEMA_FIELDS[nodes[n]!.slot]!.path in CONSTANT_VALUES; n++) {
        const constant = nodes[n]!;
        const value = CONSTANT_VALUES[SCHEMA_FIELDS[constant.slot]!.path as keyof typeof CONSTANT_VALUES];
        text += `${text === '' ? '' : ','}${constant.jsonKey}${JSON.stringify(value)}`;
      }
      n--;
      code += `${gen.dialect.constant(prefix(gen, chain, text))} st = ${TAIL_NONE}; ${markOpen(chain)}\n`;
      continue;
    }
    code += gen.dialect.field(node.slot, SCHEMA_FIELDS[node.slot]!, node.jsonKey, (keyText) => prefix(gen, chain, keyText), markOpen(chain));
  }
  return code;
}

/** Generates a writer's code for `dialect` from the schema tree. */
export function generateWriter(dialect: WriterDialect): GeneratedWriter {
  const gen: Generator = { dialect, tables: [], objects: 0 };
  const body = jsonCode(gen, TREE, [{ flag: 'o0', jsonKey: '' }]);
  return { body, tables: gen.tables, finals: Array.from({ length: STATES }, (_, st) => `${closers(st)}}`) };
}

/** Value states after a value: what its prefix opened and is still pending (see TAILS). */
export const TAIL = { none: TAIL_NONE, quote: TAIL_QUOTE, bracket: TAIL_BRACKET, quoteBracket: TAIL_QUOTE_BRACKET } as const;

const STRING_DIALECT: WriterDialect = {
  piece: (text) => text,
  literal: (text) => JSON.stringify(text),
  constant: (piece) => `out = out + ${piece};`,
  field(slot, field, jsonKey, prefix, open) {
    let write: string;
    if ('array' in field && field.array) {
      write = `if (v.length === 0) { out = out + ${prefix(`${jsonKey}[`)}; st = ${TAIL_BRACKET}; }\n` +
        `  else { out = out + ${prefix(`${jsonKey}["`)} + arrayItems(v, clean); st = ${TAIL_QUOTE_BRACKET}; }`;
    } else if (field.type === 'geo_point') {
      write = `out = out + ${prefix(jsonKey)} + '{"lat":' + v.lat + ',"lon":' + v.lon + '}'; st = ${TAIL_NONE};`;
    } else if (jsTypeOf(field.type) === 'number') {
      write = `out = out + ${prefix(jsonKey)} + v; st = ${TAIL_NONE};`;
    } else {
      write = `out = out + ${prefix(`${jsonKey}"`)} + (clean ? v : escapedInner(v)); st = ${TAIL_QUOTE};`;
    }
    return `v = r[${slot}];\nif (v !== undefined) {\n  ${write}\n  ${open}\n}\n`;
  },
};

type JsonWriter = (record: FieldRecord, clean: boolean) => string;

function compileWriter(): JsonWriter {
  const { body, tables, finals } = generateWriter(STRING_DIALECT);
  const source =
    `${tables.map((_, i) => `const t${i} = tables[${i}];`).join('\n')}\n` +
    `return function writeJson(r, clean) {\nlet v;\nlet st = 0;\nlet o0 = false;\nlet out = '{';\n${body}return out + finals[st];\n};`;
  return new Function('tables', 'finals', 'escapedInner', 'arrayItems', source)(tables, finals, escapedInner, arrayItems) as JsonWriter;
}

const writeJson = compileWriter();

/**
 * The record as JSON text: what JSON.stringify(toDocument(record)) gives, faster.
 * `clean` promises that no string in the record needs JSON escaping (the
 * parser checks the whole line once instead of every value).
 */
export function toJson(record: FieldRecord, clean = false): string {
  return writeJson(record, clean);
}
