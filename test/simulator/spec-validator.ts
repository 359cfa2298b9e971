// A small JSON Schema validator for the subset the OpenAPI components behind runs, steps, threads,
// messages and errors use. It resolves `#/components/schemas/...` from the spec file and reports the
// JSON path of every violation. Unknown keywords make it throw: silently skipping one would let
// records pass that the spec rejects.
//
// Semantics, keyword by keyword (JSON Schema 2020-12 unless noted):
// - $ref (siblings apply too, as in 2020-12), type (string or array; "integer" = whole number),
//   enum, const, required, properties, additionalProperties (schema or boolean), items,
//   minItems/maxItems, minimum/maximum, oneOf (exactly one), anyOf (at least one), allOf (all).
// - `nullable: true` is honoured the OAS 3.0 way (D4 in the facts file): the spec says 3.1.0 but
//   marks RunObject's nullable fields with it, and the API really returns null there. Also, as the
//   spec's authors evidently intended, `allOf: [{$ref}, {nullable: true}]` admits null
//   (RunObject.truncation_strategy, tool_choice). This is the one place we read the spec more
//   leniently than a strict 2020-12 validator would; without it every real run would be rejected.
import { readFileSync } from 'node:fs';

type Schema = { [keyword: string]: unknown } | boolean;

export interface Violation {
  path: string;
  message: string;
}

const ANNOTATIONS = new Set(['description', 'title', 'example', 'examples', 'default', 'format', 'deprecated', 'discriminator', 'readOnly', 'writeOnly']);
const KEYWORDS = new Set([
  '$ref', 'type', 'enum', 'const', 'required', 'properties', 'additionalProperties', 'items', 'minItems', 'maxItems',
  'minimum', 'maximum', 'oneOf', 'anyOf', 'allOf', 'nullable',
]);

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const isObject = (v: unknown): v is Record<string, unknown> => typeOf(v) === 'object';
const child = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeOf(value) === type;
  }
}

export class SpecValidator {
  private readonly schemas: Record<string, Schema>;

  constructor(specPath = '/work/shared/spec/openapi.json') {
    const spec = JSON.parse(readFileSync(specPath, 'utf8')) as { components: { schemas: Record<string, Schema> } }; // the spec file's shape
    this.schemas = spec.components.schemas;
  }

  /** Validates `value` against `#/components/schemas/<name>`; an empty list means it conforms. */
  validate(value: unknown, name: string): Violation[] {
    return this.check(value, this.resolve(`#/components/schemas/${name}`), '$');
  }

  private resolve(ref: string): Schema {
    const prefix = '#/components/schemas/';
    if (!ref.startsWith(prefix)) throw new Error(`unsupported $ref ${ref}`);
    const schema = this.schemas[ref.slice(prefix.length)];
    if (schema === undefined) throw new Error(`no schema ${ref}`);
    return schema;
  }

  private check(value: unknown, schema: Schema, path: string): Violation[] {
    if (schema === true) return [];
    if (schema === false) return [{ path, message: 'no value is allowed here' }];
    for (const keyword of Object.keys(schema)) {
      if (!KEYWORDS.has(keyword) && !ANNOTATIONS.has(keyword) && !keyword.startsWith('x-')) throw new Error(`unsupported keyword "${keyword}" at ${path}`);
    }
    const nullableHere = schema['nullable'] === true || (Array.isArray(schema['allOf']) && schema['allOf'].some((s) => isObject(s) && s['nullable'] === true));
    if (value === null && nullableHere) return [];

    const out: Violation[] = [];
    if (typeof schema['$ref'] === 'string') out.push(...this.check(value, this.resolve(schema['$ref']), path));
    const type = schema['type'];
    if (type !== undefined) {
      const types = Array.isArray(type) ? (type as string[]) : [type as string];
      if (!types.some((t) => matchesType(value, t))) {
        out.push({ path, message: `expected ${types.join(' or ')}, got ${typeOf(value)}` });
        return out; // the remaining keywords would only restate this
      }
    }
    if (Array.isArray(schema['enum']) && !schema['enum'].some((e) => e === value)) out.push({ path, message: `expected one of ${JSON.stringify(schema['enum'])}, got ${JSON.stringify(value)}` });
    if ('const' in schema && schema['const'] !== value) out.push({ path, message: `expected ${JSON.stringify(schema['const'])}, got ${JSON.stringify(value)}` });
    if (typeof value === 'number') {
      if (typeof schema['minimum'] === 'number' && value < schema['minimum']) out.push({ path, message: `${value} < minimum ${schema['minimum']}` });
      if (typeof schema['maximum'] === 'number' && value > schema['maximum']) out.push({ path, message: `${value} > maximum ${schema['maximum']}` });
    }
    if (Array.isArray(value)) out.push(...this.checkArray(value, schema, path));
    if (isObject(value)) out.push(...this.checkObject(value, schema, path));
    out.push(...this.checkCombinators(value, schema, path));
    return out;
  }

  private checkArray(value: unknown[], schema: Record<string, unknown>, path: string): Violation[] {
    const out: Violation[] = [];
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) out.push({ path, message: `fewer than ${schema['minItems']} items` });
    if (typeof schema['maxItems'] === 'number' && value.length > schema['maxItems']) out.push({ path, message: `more than ${schema['maxItems']} items` });
    const items = schema['items'] as Schema | undefined; // a schema by definition of the keyword
    if (items !== undefined) value.forEach((item, i) => out.push(...this.check(item, items, child(path, i))));
    return out;
  }

  private checkObject(value: Record<string, unknown>, schema: Record<string, unknown>, path: string): Violation[] {
    const out: Violation[] = [];
    for (const key of Array.isArray(schema['required']) ? (schema['required'] as string[]) : []) {
      if (!(key in value)) out.push({ path: child(path, key), message: 'required property is missing' });
    }
    const properties = isObject(schema['properties']) ? (schema['properties'] as Record<string, Schema>) : {};
    const additional = schema['additionalProperties'] as Schema | undefined;
    for (const [key, v] of Object.entries(value)) {
      const propertySchema = properties[key];
      if (propertySchema !== undefined) out.push(...this.check(v, propertySchema, child(path, key)));
      else if (additional !== undefined) out.push(...this.check(v, additional, child(path, key)));
    }
    return out;
  }

  private checkCombinators(value: unknown, schema: Record<string, unknown>, path: string): Violation[] {
    const out: Violation[] = [];
    const branches = (k: string) => (Array.isArray(schema[k]) ? (schema[k] as Schema[]) : null);
    const allOf = branches('allOf');
    if (allOf !== null) for (const s of allOf) out.push(...this.check(value, s, path));
    for (const k of ['oneOf', 'anyOf'] as const) {
      const list = branches(k);
      if (list === null) continue;
      const results = list.map((s) => this.check(value, s, path));
      const passing = results.filter((r) => r.length === 0).length;
      if (k === 'oneOf' && passing > 1) out.push({ path, message: `matches ${passing} alternatives of oneOf, expected exactly one` });
      if (passing === 0) {
        // Report the closest alternative's own violations: they point at the field that is wrong.
        // Closest = its `type` discriminator matched (no violation there), then fewest violations.
        const typePath = child(path, 'type');
        const rank = (r: Violation[]) => (r.some((v) => v.path === typePath) ? 1_000_000 : 0) + r.length;
        const closest = results.reduce((a, b) => (rank(b) < rank(a) ? b : a));
        out.push({ path, message: `matches none of the ${list.length} alternatives of ${k}` }, ...closest);
      }
    }
    return out;
  }
}
