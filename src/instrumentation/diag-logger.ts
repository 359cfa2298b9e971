/**
 * The library's default logger: OpenTelemetry's own diagnostic channel (`diag`), silent unless the
 * application turned it on (`diag.setLogger(...)`), as every OpenTelemetry instrumentation does. A
 * library must not write to the host's stderr on its own.
 */
import { diag } from '@opentelemetry/api';
import type { LogFields, Logger } from '../util/log.js';

export function diagLogger(fields: LogFields = {}): Logger {
  const component = diag.createComponentLogger({ namespace: 'assistants-otel' });
  const line = (message: string, extra?: LogFields) => {
    const all = { ...fields, ...extra };
    // diag's component logger already prefixes the namespace: a message's own "assistants-otel: "
    // (there for the `logger` option's loggers) would be said twice.
    const text = message.replace(/^assistants-otel:?\s+/, '');
    return Object.keys(all).length > 0 ? `${text} ${JSON.stringify(all)}` : text;
  };
  return {
    debug: (m, f) => component.debug(line(m, f)),
    info: (m, f) => component.info(line(m, f)),
    warn: (m, f) => component.warn(line(m, f)),
    error: (m, f) => component.error(line(m, f)),
    child: (more) => diagLogger({ ...fields, ...more }),
  };
}
