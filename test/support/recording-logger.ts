/**
 * A `Logger` that keeps every call as data, for assertions on what was logged (and at what level).
 */
import type { LogFields, Logger } from '../../src/util/log.js';

export interface RecordedLine {
  level: string;
  message: string;
  fields: LogFields;
}

export function recordingLogger(): { logger: Logger; lines: RecordedLine[] } {
  const lines: RecordedLine[] = [];
  const logger: Logger = {
    debug: (message, fields = {}) => lines.push({ level: 'debug', message, fields }),
    info: (message, fields = {}) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields = {}) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields = {}) => lines.push({ level: 'error', message, fields }),
    child: () => logger,
  };
  return { logger, lines };
}
