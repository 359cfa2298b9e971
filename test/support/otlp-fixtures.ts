// One small trace, written three ways for the receiver's self-tests: as a protobufjs object
// (encoded with the vendored schema), as literal OTLP/JSON, and as the ReceivedSpan[] both must
// decode to. Covers every AnyValue kind, both enums, flags, events, links, resource and scope.
import type { ReceivedSpan } from './otlp-types.js';

export const TRACE_ID = '5b8efff798038103d269b633813fc60c';
export const ROOT_SPAN_ID = 'eee19b7ec3c1b174';
export const CHILD_SPAN_ID = '00f067aa0ba902b7';
export const LINKED_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const LINKED_SPAN_ID = '53995c3f42cd8ad8';
/** Not a multiple of a millisecond, and above 2^53: a lossy number conversion would show. */
export const START_NS = 1_700_000_000_123_456_789n;
/** 2^53 + 1: the smallest integer a double cannot hold. */
const UNSAFE_INT = '9007199254740993';
const INT64_MIN = '-9223372036854775808';
const BLOB = [0, 1, 2, 255];

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const kv = (key: string, value: Record<string, unknown>) => ({ key, value });

export const protobufRequest = {
  resourceSpans: [
    {
      resource: {
        attributes: [kv('service.name', { stringValue: 'assistants-otel-test' }), kv('process.pid', { intValue: 4242 })],
        droppedAttributesCount: 1,
      },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeSpans: [
        {
          scope: { name: 'assistants-otel', version: '0.1.0', attributes: [kv('scope.attr', { boolValue: true })] },
          schemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
          spans: [
            {
              traceId: bytes(TRACE_ID),
              spanId: bytes(ROOT_SPAN_ID),
              traceState: 'vendor=1',
              name: 'invoke_agent Helper',
              kind: 3,
              startTimeUnixNano: START_NS,
              endTimeUnixNano: START_NS + 2_000_000_000n,
              attributes: [
                kv('gen_ai.operation.name', { stringValue: 'invoke_agent' }),
                kv('flag.true', { boolValue: true }),
                kv('flag.false', { boolValue: false }),
                kv('tokens.input', { intValue: 1234 }),
                kv('int.zero', { intValue: 0 }),
                kv('int.negative', { intValue: -5 }),
                kv('int.unsafe', { intValue: UNSAFE_INT }),
                kv('int.min', { intValue: INT64_MIN }),
                kv('ratio', { doubleValue: 0.25 }),
                kv('double.nan', { doubleValue: Number.NaN }),
                kv('list', {
                  arrayValue: {
                    values: [{ stringValue: 'a' }, { intValue: 1 }, { boolValue: false }, { doubleValue: 1.5 }],
                  },
                }),
                kv('nested', {
                  kvlistValue: {
                    values: [
                      kv('inner', { kvlistValue: { values: [kv('deep', { stringValue: 'x' })] } }),
                      kv('numbers', { arrayValue: { values: [{ intValue: 7 }] } }),
                    ],
                  },
                }),
                kv('blob', { bytesValue: Uint8Array.from(BLOB) }),
                kv('empty', {}),
              ],
              droppedAttributesCount: 2,
              events: [
                {
                  name: 'gen_ai.choice',
                  timeUnixNano: START_NS + 1_000n,
                  attributes: [kv('index', { intValue: 0 })],
                  droppedAttributesCount: 1,
                },
              ],
              droppedEventsCount: 3,
              links: [
                {
                  traceId: bytes(LINKED_TRACE_ID),
                  spanId: bytes(LINKED_SPAN_ID),
                  traceState: 'l=1',
                  attributes: [kv('link.kind', { stringValue: 'previous_run' })],
                  flags: 1,
                },
              ],
              droppedLinksCount: 4,
              status: { code: 2, message: 'boom' },
              flags: 0x301,
            },
            {
              traceId: bytes(TRACE_ID),
              spanId: bytes(CHILD_SPAN_ID),
              parentSpanId: bytes(ROOT_SPAN_ID),
              name: 'execute_tool lookup',
              kind: 1,
              startTimeUnixNano: START_NS + 5n,
              endTimeUnixNano: START_NS + 9n,
              status: { code: 1 },
            },
          ],
        },
      ],
    },
  ],
};

/**
 * The same request as OTLP/JSON, spelled the way exporters vary: upper-case hex ids, int64 both
 * as strings and numbers, enums both as names and as numbers, bytes as base64.
 */
export const jsonRequestText = JSON.stringify({
  resourceSpans: [
    {
      resource: {
        attributes: [
          { key: 'service.name', value: { stringValue: 'assistants-otel-test' } },
          { key: 'process.pid', value: { intValue: '4242' } },
        ],
        droppedAttributesCount: 1,
      },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeSpans: [
        {
          scope: {
            name: 'assistants-otel',
            version: '0.1.0',
            attributes: [{ key: 'scope.attr', value: { boolValue: true } }],
          },
          schemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
          spans: [
            {
              traceId: TRACE_ID.toUpperCase(),
              spanId: ROOT_SPAN_ID,
              parentSpanId: '',
              traceState: 'vendor=1',
              name: 'invoke_agent Helper',
              kind: 'SPAN_KIND_CLIENT',
              startTimeUnixNano: String(START_NS),
              endTimeUnixNano: String(START_NS + 2_000_000_000n),
              attributes: [
                { key: 'gen_ai.operation.name', value: { stringValue: 'invoke_agent' } },
                { key: 'flag.true', value: { boolValue: true } },
                { key: 'flag.false', value: { boolValue: false } },
                { key: 'tokens.input', value: { intValue: 1234 } },
                { key: 'int.zero', value: { intValue: '0' } },
                { key: 'int.negative', value: { intValue: -5 } },
                { key: 'int.unsafe', value: { intValue: UNSAFE_INT } },
                { key: 'int.min', value: { intValue: INT64_MIN } },
                { key: 'ratio', value: { doubleValue: 0.25 } },
                { key: 'double.nan', value: { doubleValue: 'NaN' } },
                {
                  key: 'list',
                  value: {
                    arrayValue: {
                      values: [{ stringValue: 'a' }, { intValue: '1' }, { boolValue: false }, { doubleValue: 1.5 }],
                    },
                  },
                },
                {
                  key: 'nested',
                  value: {
                    kvlistValue: {
                      values: [
                        { key: 'inner', value: { kvlistValue: { values: [{ key: 'deep', value: { stringValue: 'x' } }] } } },
                        { key: 'numbers', value: { arrayValue: { values: [{ intValue: 7 }] } } },
                      ],
                    },
                  },
                },
                { key: 'blob', value: { bytesValue: Buffer.from(BLOB).toString('base64') } },
                { key: 'empty', value: {} },
              ],
              droppedAttributesCount: 2,
              events: [
                {
                  timeUnixNano: String(START_NS + 1_000n),
                  name: 'gen_ai.choice',
                  attributes: [{ key: 'index', value: { intValue: 0 } }],
                  droppedAttributesCount: 1,
                },
              ],
              droppedEventsCount: 3,
              links: [
                {
                  traceId: LINKED_TRACE_ID,
                  spanId: LINKED_SPAN_ID.toUpperCase(),
                  traceState: 'l=1',
                  attributes: [{ key: 'link.kind', value: { stringValue: 'previous_run' } }],
                  flags: 1,
                },
              ],
              droppedLinksCount: 4,
              status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
              flags: 0x301,
            },
            {
              traceId: TRACE_ID,
              spanId: CHILD_SPAN_ID,
              parentSpanId: ROOT_SPAN_ID,
              name: 'execute_tool lookup',
              kind: 1,
              startTimeUnixNano: String(START_NS + 5n),
              endTimeUnixNano: String(START_NS + 9n),
              status: { code: 1 },
            },
          ],
        },
      ],
    },
  ],
});

const resourceAndScope = {
  resource: { 'service.name': 'assistants-otel-test', 'process.pid': 4242 },
  resourceDroppedAttributesCount: 1,
  resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  scope: { name: 'assistants-otel', version: '0.1.0', attributes: { 'scope.attr': true } },
  scopeSchemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
};

export const expectedSpans: ReceivedSpan[] = [
  {
    traceId: TRACE_ID,
    spanId: ROOT_SPAN_ID,
    parentSpanId: '',
    traceState: 'vendor=1',
    name: 'invoke_agent Helper',
    kind: 3,
    startTimeUnixNano: START_NS,
    endTimeUnixNano: START_NS + 2_000_000_000n,
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'flag.true': true,
      'flag.false': false,
      'tokens.input': 1234,
      'int.zero': 0,
      'int.negative': -5,
      'int.unsafe': 9007199254740993n,
      'int.min': -9223372036854775808n,
      ratio: 0.25,
      'double.nan': Number.NaN,
      list: ['a', 1, false, 1.5],
      nested: { inner: { deep: 'x' }, numbers: [7] },
      blob: Uint8Array.from(BLOB),
      empty: null,
    },
    droppedAttributesCount: 2,
    events: [
      { name: 'gen_ai.choice', timeUnixNano: START_NS + 1_000n, attributes: { index: 0 }, droppedAttributesCount: 1 },
    ],
    droppedEventsCount: 3,
    links: [
      {
        traceId: LINKED_TRACE_ID,
        spanId: LINKED_SPAN_ID,
        traceState: 'l=1',
        attributes: { 'link.kind': 'previous_run' },
        droppedAttributesCount: 0,
        flags: 1,
      },
    ],
    droppedLinksCount: 4,
    status: { code: 2, message: 'boom' },
    flags: 0x301,
    ...resourceAndScope,
  },
  {
    traceId: TRACE_ID,
    spanId: CHILD_SPAN_ID,
    parentSpanId: ROOT_SPAN_ID,
    traceState: '',
    name: 'execute_tool lookup',
    kind: 1,
    startTimeUnixNano: START_NS + 5n,
    endTimeUnixNano: START_NS + 9n,
    attributes: {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 1, message: '' },
    flags: 0,
    ...resourceAndScope,
  },
];
