/**
 * What the collector answered, beyond "it worked": the official export delegate reads the
 * `ExportTraceServiceResponse` but only logs a partial success (`rejected_spans`, `error_message`)
 * through `diag`, and lets a serializer's exception escape `export()`. Our exporters pass the
 * official delegate a serializer wrapped here, which
 * - turns an exception while encoding (a value it cannot encode, a stack overflow) into an
 *   `UnexportableBatchError`, so delivery knows the batch itself is at fault, not the network; and
 * - remembers the partial success of the response it decodes; the exporter below reports it with
 *   the export's result as a `PartialSuccessError` (code SUCCESS: the request was accepted).
 *
 * Why "the last response decoded" is exact even with exports in flight at once: the delegate
 * decodes the response and calls the export's result callback in one synchronous step.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPExporterBase, type IOtlpExportDelegate } from '@opentelemetry/otlp-exporter-base';
import type { IExportTraceServiceResponse, ISerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { UnexportableBatchError } from './failure.js';

export interface PartialSuccess {
  /** Spans the collector says it did not take (which ones, it does not say). */
  rejectedSpans: number;
  /** The collector's explanation, possibly empty. */
  message: string;
}

/**
 * The request was accepted, but the collector reports spans it rejected (OTLP partial success).
 * Carried as the `error` of a SUCCESS result, so SDK span processors still treat it as delivered
 * while our delivery counts the rejected spans.
 */
export class PartialSuccessError extends Error {
  override readonly name = 'PartialSuccessError';
  constructor(readonly partial: PartialSuccess) {
    super(`the collector rejected ${partial.rejectedSpans} span(s) of the request${partial.message ? `: ${partial.message}` : ''}`);
  }
}

/** The partial success of a decoded response (protobuf: numbers; OTLP/JSON: int64 as a string, either casing). */
export function partialSuccessOf(response: unknown): PartialSuccess | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  const fields = response as Record<string, unknown>;
  const partial = fields['partialSuccess'] ?? fields['partial_success'];
  if (typeof partial !== 'object' || partial === null) return undefined;
  const p = partial as Record<string, unknown>;
  const count = Number(p['rejectedSpans'] ?? p['rejected_spans'] ?? 0);
  const message = p['errorMessage'] ?? p['error_message'];
  const rejectedSpans = Number.isFinite(count) && count > 0 ? Math.floor(count) : 0;
  const text = typeof message === 'string' ? message : '';
  // OTLP: an empty partial_success is a full success.
  if (rejectedSpans === 0 && text === '') return undefined;
  return { rejectedSpans, message: text.slice(0, 2000) };
}

export interface AnswerAwareSerializer {
  serializer: ISerializer<ReadableSpan[], IExportTraceServiceResponse>;
  /** The partial success of the response decoded last, once (cleared when read). */
  takePartialSuccess(): PartialSuccess | undefined;
}

export function answerAwareSerializer(base: ISerializer<ReadableSpan[], IExportTraceServiceResponse>): AnswerAwareSerializer {
  let last: PartialSuccess | undefined;
  return {
    serializer: {
      serializeRequest(spans) {
        try {
          return base.serializeRequest(spans);
        } catch (error) {
          const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          throw new UnexportableBatchError(`could not encode ${spans.length} span(s) as OTLP (${why})`, { cause: error });
        }
      },
      deserializeResponse(data) {
        last = undefined;
        const response = base.deserializeResponse(data);
        last = partialSuccessOf(response);
        return response;
      },
    },
    takePartialSuccess() {
      const found = last;
      last = undefined;
      return found;
    },
  };
}

/**
 * The official exporter class over an official delegate, reporting partial success, and answering
 * an exception from the delegate through the callback (as a failure) instead of throwing.
 */
export class AcknowledgingTraceExporter extends OTLPExporterBase<ReadableSpan[]> {
  constructor(
    delegate: IOtlpExportDelegate<ReadableSpan[]>,
    private readonly answers: AnswerAwareSerializer,
  ) {
    super(delegate);
  }

  override export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    try {
      super.export(spans, (result) => {
        const partial = this.answers.takePartialSuccess();
        resultCallback(result.code === ExportResultCode.SUCCESS && partial ? { code: ExportResultCode.SUCCESS, error: new PartialSuccessError(partial) } : result);
      });
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new UnexportableBatchError(String(error)) });
    }
  }
}
