/**
 * Output for the query commands: a table for people, JSON or JSON Lines for programs.
 *
 * Fields are chosen with `--fields a,b.c` (dotted paths reach into nested objects, unknown fields
 * included) or `--fields '*'` for every top-level field any record has, in the API's order.
 */
import { UsageError } from './args.js';
import { formatTimestamp, safeJson } from './format.js';

export type OutputFormat = 'table' | 'json' | 'jsonl';

export function parseOutputFormat(value: string | undefined): OutputFormat {
  const format = value ?? 'table';
  if (format === 'table' || format === 'json' || format === 'jsonl') return format;
  throw new UsageError(`--output: expected table, json or jsonl, got "${format}"`);
}

/** A column computed from a record rather than read from it. */
export type VirtualField = (record: Record<string, unknown>) => unknown;

export function getPath(record: unknown, path: string): unknown {
  let value: unknown = record;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A record as the API sent it: usually an object, but a broken server can send anything. */
export type ShownRecord = unknown;

function isRecordObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every top-level key any record has, first-seen order (the API's field order). */
export function allFields(records: readonly ShownRecord[]): string[] {
  const keys = new Set<string>();
  for (const record of records) if (isRecordObject(record)) for (const key of Object.keys(record)) keys.add(key);
  return [...keys];
}

export function parseFields(value: string | undefined, defaults: readonly string[], records: readonly ShownRecord[]): string[] {
  if (value === undefined) return [...defaults];
  if (value.trim() === '*' || value.trim() === 'all') return allFields(records);
  const fields = value.split(',').map((f) => f.trim()).filter((f) => f !== '');
  if (fields.length === 0) throw new UsageError('--fields: name at least one field, or * for all');
  return fields;
}

const MAX_CELL = 60;

function isTimestampField(field: string): boolean {
  return /(^|\.)[a-z_]*_at$/.test(field);
}

export function formatCell(field: string, value: unknown, truncate = true): string {
  let text: string;
  if (value === undefined || value === null) text = '-';
  // Timestamps read by the time rules: seconds, milliseconds… or the value and why it is not a time.
  else if (isTimestampField(field) && (typeof value === 'number' || typeof value === 'string')) text = formatTimestamp(value);
  else if (typeof value === 'string') text = value;
  else text = safeJson(value);
  text = text.replace(/\s+/g, ' ');
  return truncate && text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…` : text;
}

function cellValue(record: Record<string, unknown>, field: string, virtual: Readonly<Record<string, VirtualField>>): unknown {
  const compute = virtual[field];
  return compute ? compute(record) : getPath(record, field);
}

/** A row for a record that is not an object: the value in the first column, the rest empty. */
function notAnObjectRow(record: unknown, fields: readonly string[]): string[] {
  return fields.map((_, i) => (i === 0 ? formatCell('', `(not an object: ${safeJson(record)})`) : '-'));
}

/** Columns padded to their widest cell; the header is the field path in capitals. */
export function formatTable(records: readonly ShownRecord[], fields: readonly string[], virtual: Readonly<Record<string, VirtualField>> = {}): string {
  const rows = records.map((r) => (isRecordObject(r) ? fields.map((f) => formatCell(f, cellValue(r, f, virtual))) : notAnObjectRow(r, fields)));
  const header = fields.map((f) => f.toUpperCase());
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** One record as `FIELD  value` lines: every field, nothing cut. */
export function formatVertical(record: ShownRecord, fields: readonly string[], virtual: Readonly<Record<string, VirtualField>> = {}): string {
  if (!isRecordObject(record)) return `(not an object: ${safeJson(record)})\n`;
  const width = Math.max(0, ...fields.map((f) => f.length));
  return fields.map((f) => `${f.padEnd(width)}  ${formatCell(f, cellValue(record, f, virtual), false)}`).join('\n') + '\n';
}

/** Projects records onto the chosen fields for JSON output (only when `--fields` was given). */
export function project(record: Record<string, unknown>, fields: readonly string[], virtual: Readonly<Record<string, VirtualField>> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = cellValue(record, f, virtual) ?? null;
  return out;
}

export interface PrintOptions {
  format: OutputFormat;
  /** `--fields` as given, or undefined for the defaults. */
  fields: string | undefined;
  virtual?: Readonly<Record<string, VirtualField>>;
  /** Told of each field given in `--fields` that no record shown has (a typo, most likely): its column is all `-`. */
  onMissingField?: (field: string) => void;
}

/** Fields given by name that no object record has a value for (none for `*` or the defaults). */
function reportMissing(records: readonly ShownRecord[], fields: readonly string[], options: PrintOptions): void {
  if (!options.onMissingField || options.fields === undefined || ['*', 'all'].includes(options.fields.trim())) return;
  const objects = records.filter(isRecordObject);
  if (objects.length === 0) return;
  for (const field of fields) {
    if (objects.every((r) => cellValue(r, field, options.virtual ?? {}) === undefined)) options.onMissingField(field);
  }
}

/**
 * A list: a table of the default (or chosen) columns, a JSON array, or one JSON object per line.
 * Every record is shown, whether it could be validated or not (a non-object as it came).
 */
export function renderList(records: readonly ShownRecord[], defaults: readonly string[], options: PrintOptions): string {
  const fields = parseFields(options.fields, defaults, records);
  reportMissing(records, fields, options);
  if (options.format === 'table') return formatTable(records, fields, options.virtual);
  const shown = options.fields ? records.map((r) => (isRecordObject(r) ? project(r, fields, options.virtual) : r)) : records;
  if (options.format === 'json') return `${JSON.stringify(shown, null, 2)}\n`;
  return shown.map((r) => `${JSON.stringify(r) ?? 'null'}\n`).join('');
}

/** One record: every field, vertically, or one JSON object. */
export function renderOne(record: ShownRecord, options: PrintOptions): string {
  const fields = parseFields(options.fields, allFields([record]), [record]);
  reportMissing([record], fields, options);
  if (options.format === 'table') return formatVertical(record, fields, options.virtual);
  const shown = options.fields && isRecordObject(record) ? project(record, fields, options.virtual) : record;
  return `${JSON.stringify(shown, null, options.format === 'json' ? 2 : undefined) ?? 'null'}\n`;
}
