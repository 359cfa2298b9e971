// ExportTraceServiceRequest bodies (protobuf or OTLP/JSON) -> ReceivedSpan[] in request order.
import { readAttributes } from './otlp-attributes.js';
import {
  OtlpDecodeError,
  readArray,
  readEnum,
  readId,
  readObject,
  readString,
  readUint32,
  readUint64,
} from './otlp-fields.js';
import { otlpSchema } from './otlp-proto.js';
import type { ReceivedEvent, ReceivedLink, ReceivedSpan, OtlpEncoding } from './otlp-types.js';

const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;

export function decodeProtobufTraces(body: Uint8Array): ReceivedSpan[] {
  const { exportRequest } = otlpSchema();
  let plain: unknown;
  try {
    // longs: BigInt keeps nanosecond timestamps exact; enums stay numbers.
    plain = exportRequest.toObject(exportRequest.decode(body), { longs: BigInt, enums: Number });
  } catch (error) {
    throw new OtlpDecodeError(`not a protobuf ExportTraceServiceRequest: ${(error as Error).message}`);
  }
  return spansOfExportRequest(plain, 'protobuf');
}

export function decodeJsonTraces(body: Uint8Array): ReceivedSpan[] {
  let plain: unknown;
  try {
    plain = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw new OtlpDecodeError(`not UTF-8 JSON: ${(error as Error).message}`);
  }
  return spansOfExportRequest(plain, 'json');
}

export function decodeTraces(body: Uint8Array, encoding: OtlpEncoding): ReceivedSpan[] {
  return encoding === 'json' ? decodeJsonTraces(body) : decodeProtobufTraces(body);
}

function spansOfExportRequest(plain: unknown, encoding: OtlpEncoding): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  const request = readObject(plain, 'request');
  readArray(request['resourceSpans'], 'resourceSpans').forEach((rsValue, r) => {
    const rsWhere = `resourceSpans[${r}]`;
    const resourceSpans = readObject(rsValue, rsWhere);
    const resource = readObject(resourceSpans['resource'], `${rsWhere}.resource`);
    const context = {
      resource: readAttributes(resource['attributes'], encoding, `${rsWhere}.resource.attributes`),
      resourceDroppedAttributesCount: readUint32(resource['droppedAttributesCount'], `${rsWhere}.resource.droppedAttributesCount`),
      resourceSchemaUrl: readString(resourceSpans['schemaUrl'], `${rsWhere}.schemaUrl`),
    };
    readArray(resourceSpans['scopeSpans'], `${rsWhere}.scopeSpans`).forEach((ssValue, s) => {
      const ssWhere = `${rsWhere}.scopeSpans[${s}]`;
      const scopeSpans = readObject(ssValue, ssWhere);
      const scope = readObject(scopeSpans['scope'], `${ssWhere}.scope`);
      const scopeContext = {
        ...context,
        scope: {
          name: readString(scope['name'], `${ssWhere}.scope.name`),
          version: readString(scope['version'], `${ssWhere}.scope.version`),
          attributes: readAttributes(scope['attributes'], encoding, `${ssWhere}.scope.attributes`),
        },
        scopeSchemaUrl: readString(scopeSpans['schemaUrl'], `${ssWhere}.schemaUrl`),
      };
      readArray(scopeSpans['spans'], `${ssWhere}.spans`).forEach((spanValue, i) => {
        spans.push({ ...readSpan(spanValue, encoding, `${ssWhere}.spans[${i}]`), ...scopeContext });
      });
    });
  });
  return spans;
}

type SpanOwnFields = Omit<
  ReceivedSpan,
  'resource' | 'resourceDroppedAttributesCount' | 'resourceSchemaUrl' | 'scope' | 'scopeSchemaUrl'
>;

function readSpan(value: unknown, encoding: OtlpEncoding, where: string): SpanOwnFields {
  const { spanKind, statusCode } = otlpSchema();
  const span = readObject(value, where);
  const status = readObject(span['status'], `${where}.status`);
  return {
    traceId: readId(span['traceId'], TRACE_ID_BYTES, encoding, `${where}.traceId`),
    spanId: readId(span['spanId'], SPAN_ID_BYTES, encoding, `${where}.spanId`),
    parentSpanId: readId(span['parentSpanId'], SPAN_ID_BYTES, encoding, `${where}.parentSpanId`),
    traceState: readString(span['traceState'], `${where}.traceState`),
    name: readString(span['name'], `${where}.name`),
    kind: readEnum(span['kind'], spanKind, `${where}.kind`),
    startTimeUnixNano: readUint64(span['startTimeUnixNano'], `${where}.startTimeUnixNano`),
    endTimeUnixNano: readUint64(span['endTimeUnixNano'], `${where}.endTimeUnixNano`),
    attributes: readAttributes(span['attributes'], encoding, `${where}.attributes`),
    droppedAttributesCount: readUint32(span['droppedAttributesCount'], `${where}.droppedAttributesCount`),
    events: readArray(span['events'], `${where}.events`).map((e, i) => readEvent(e, encoding, `${where}.events[${i}]`)),
    droppedEventsCount: readUint32(span['droppedEventsCount'], `${where}.droppedEventsCount`),
    links: readArray(span['links'], `${where}.links`).map((l, i) => readLink(l, encoding, `${where}.links[${i}]`)),
    droppedLinksCount: readUint32(span['droppedLinksCount'], `${where}.droppedLinksCount`),
    status: {
      code: readEnum(status['code'], statusCode, `${where}.status.code`),
      message: readString(status['message'], `${where}.status.message`),
    },
    flags: readUint32(span['flags'], `${where}.flags`),
  };
}

function readEvent(value: unknown, encoding: OtlpEncoding, where: string): ReceivedEvent {
  const event = readObject(value, where);
  return {
    name: readString(event['name'], `${where}.name`),
    timeUnixNano: readUint64(event['timeUnixNano'], `${where}.timeUnixNano`),
    attributes: readAttributes(event['attributes'], encoding, `${where}.attributes`),
    droppedAttributesCount: readUint32(event['droppedAttributesCount'], `${where}.droppedAttributesCount`),
  };
}

function readLink(value: unknown, encoding: OtlpEncoding, where: string): ReceivedLink {
  const link = readObject(value, where);
  return {
    traceId: readId(link['traceId'], TRACE_ID_BYTES, encoding, `${where}.traceId`),
    spanId: readId(link['spanId'], SPAN_ID_BYTES, encoding, `${where}.spanId`),
    traceState: readString(link['traceState'], `${where}.traceState`),
    attributes: readAttributes(link['attributes'], encoding, `${where}.attributes`),
    droppedAttributesCount: readUint32(link['droppedAttributesCount'], `${where}.droppedAttributesCount`),
    flags: readUint32(link['flags'], `${where}.flags`),
  };
}
