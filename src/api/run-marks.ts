/**
 * What a run's metadata says about who traces it. The library instrumentation writes a mark into
 * the metadata of every run it creates and traces; the sidecar leaves marked runs to it by default,
 * so a trace backend never receives two versions of the same span (the library's, timed to the
 * millisecond, and the sidecar's, in whole seconds, with the same IDs).
 */

/** The metadata key of the mark (metadata keys are at most 64 characters). */
export const TRACED_BY_KEY = 'assistants_otel';
/** Its value: the run is traced by the library in the process that created it. */
export const TRACED_BY_LIBRARY = 'library';

/** The API's limits on a run's metadata: at most 16 keys; keys ≤ 64 characters, values ≤ 512. */
export const METADATA_MAX_KEYS = 16;

/** True when the run's metadata carries the library's mark. */
export function isTracedByLibrary(run: { metadata?: Record<string, unknown> | null | undefined }): boolean {
  return run.metadata?.[TRACED_BY_KEY] === TRACED_BY_LIBRARY;
}
