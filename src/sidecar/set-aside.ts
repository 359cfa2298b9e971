/**
 * Spans the collector refused for good are written here, one OTLP/JSON file per refusal, so they can
 * be inspected (and replayed with curl) instead of vanishing.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { SetAsideSink } from '../delivery/pipeline.js';

export function directorySetAside(directory: string, now: () => Date = () => new Date()): SetAsideSink {
  let sequence = 0;
  return async (spans: ReadableSpan[], reason: string, status: number | undefined) => {
    await mkdir(directory, { recursive: true });
    const request = JsonTraceSerializer.serializeRequest(spans);
    const stamp = now().toISOString().replace(/[:.]/g, '-');
    const file = join(directory, `${stamp}-${process.pid}-${++sequence}.json`);
    const body = {
      reason,
      status: status ?? null,
      spans: spans.length,
      request: request ? (JSON.parse(Buffer.from(request).toString('utf8')) as unknown) : null,
    };
    await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  };
}
