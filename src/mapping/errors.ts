/**
 * A run that cannot be turned into spans. The mapper throws it only for input the validation
 * boundary would have rejected (a hand-built step without an id); callers that export
 * many runs contain it, and any other exception, to the one run (see `delivery/export-runs.ts`).
 */
export class MappingError extends Error {
  override readonly name = 'MappingError';
  constructor(
    message: string,
    /** The record at fault, when known. */
    readonly recordId: string = '',
  ) {
    super(message);
  }
}
