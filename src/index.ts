/**
 * The public API of `assistants-otel`, named explicitly.
 */

// The model: schemas and inferred types.
export {
  RunSchema,
  RunStepSchema,
  StepDetailsSchema,
  ToolCallSchema,
  FunctionToolCallSchema,
  CodeInterpreterToolCallSchema,
  FileSearchToolCallSchema,
  GenericToolCallSchema,
  MessageCreationDetailsSchema,
  ToolCallsDetailsSchema,
  GenericStepDetailsSchema,
  UsageSchema,
  LastErrorSchema,
  MetadataSchema,
  ListEnvelopeSchema,
  classifyToolCall,
  classifyStepDetails,
} from './api/schemas.js';
export type {
  Run,
  RunStep,
  StepDetails,
  ToolCall,
  FunctionToolCall,
  CodeInterpreterToolCall,
  CodeInterpreterOutput,
  FileSearchToolCall,
  FileSearchResult,
  GenericToolCall,
  MessageCreationDetails,
  ToolCallsDetails,
  GenericStepDetails,
  Usage,
  LastError,
  Metadata,
  ListEnvelope,
  ClassifiedToolCall,
  ClassifiedStepDetails,
} from './api/schemas.js';
export { validateRun, validateRunStep, validateListEnvelope, recordKind } from './api/validate.js';
export type { Issue, Validated, RecordKind } from './api/validate.js';
export { isRunTerminal, isStepTerminal } from './api/lifecycle.js';

// The mapping.
export { mapRunToSpans } from './mapping/run-to-spans.js';
export { MappingError } from './mapping/errors.js';
export { MAX_NESTING_DEPTH } from './api/depth.js';
export { readTimestamp, EARLIEST_PLAUSIBLE_SECONDS, LATEST_PLAUSIBLE_SECONDS } from './api/timestamps.js';
export type { TimestampReading } from './api/timestamps.js';
export { traceIdForRun, spanIdForRun, spanIdForStep, spanIdForToolCall, parseTraceparent, formatTraceparent, ID_SCHEME } from './mapping/ids.js';
export { SEMCONV_GENAI_VERSION } from './mapping/semconv.js';
export type { MappingOptions, RunRecord, SpanData, SpanSubject, SpanEventData, HrTime } from './mapping/types.js';
export { sourceMappingOptions } from './mapping/source.js';
export type { RecordSource, SourceMappingOptions } from './mapping/source.js';

// Export.
export { exportRecords } from './export-records.js';
export type { ExportRecordsOptions, ExportRecordsResult } from './export-records.js';
export type { UnmappedRun } from './delivery/export-runs.js';
export { createOtlpTraceExporter } from './delivery/exporter.js';
export type { OtlpExporterOptions, OtlpProtocol, OtlpTlsOptions } from './delivery/exporter.js';
export { PartialSuccessError } from './delivery/partial-success.js';
export type { PartialSuccess } from './delivery/partial-success.js';
export { classifyExportError, UnexportableBatchError } from './delivery/failure.js';
export type { ExportFailure, FailureKind } from './delivery/failure.js';
export { createResource } from './delivery/resource.js';
export type { ResourceOptions } from './delivery/resource.js';
export { toReadableSpan } from './delivery/spans.js';
export { ONE_SHOT_RETRY, SIDECAR_RETRY } from './delivery/send.js';
export type { DeliveryRetryPolicy, BatchOutcome, FailedOutcome } from './delivery/send.js';
export type { ExportRunsResult } from './delivery/export-runs.js';
export { DEFAULT_MAX_RETRY_DELAY_MILLIS, MAX_TIMER_MILLIS } from './util/backoff.js';
export { collectRecords } from './sources/collect.js';
export type { Collected, Rejection, RecordWarning, RecordLocation } from './sources/collect.js';

// The API client.
export { createAssistantsClient, DEFAULT_API_RETRY, FILE_SEARCH_CONTENT_INCLUDE } from './api/client.js';
export { listAllRunSteps, listAllRuns, collectPages, paginate, MAX_PAGE_SIZE } from './api/pagination.js';
export type { AssistantsClient, AssistantsClientOptions, ApiRetryPolicy, Page, ListQuery, StepQuery, ItemRejection, ItemWarning, Fetched } from './api/client.js';
export { createProvider, DEFAULT_OPENAI_BASE_URL, PROVIDER_KINDS } from './api/providers.js';
export type { ProviderKind, ProviderOptions, ProviderProfile } from './api/providers.js';
export { staticKey, bearerToken, commandTokenSource, noCredentials } from './api/credentials.js';
export type { Credentials, Token, TokenSource } from './api/credentials.js';
export { RequestBudget } from './api/budget.js';
export type { RequestBudgetOptions } from './api/budget.js';
export { ApiError, isApiError } from './api/errors.js';
export type { ApiErrorKind } from './api/errors.js';

// The library instrumentation: the runs of an agent's SDK client inside the agent's own trace.
export { instrumentOpenAI } from './instrumentation/openai.js';
export type { InstrumentationHandle, OpenAIClientLike } from './instrumentation/openai.js';
export { instrumentAzureAgents } from './instrumentation/azure-agents.js';
export type { AgentsClientLike } from './instrumentation/azure-agents.js';
export { AssistantsInstrumentation } from './instrumentation/instrumentation.js';
export type { AssistantsInstrumentationConfig } from './instrumentation/instrumentation.js';
export type { InstrumentOptions } from './instrumentation/session.js';
export { DEFAULT_LIBRARY_POLL_INTERVAL_MILLIS } from './instrumentation/session.js';
export { createDeterministicIdGenerator } from './instrumentation/id-generator.js';
export { withToolCallContext, toolCallContext } from './instrumentation/tool-context.js';
export { TRACED_BY_KEY, TRACED_BY_LIBRARY, isTracedByLibrary } from './api/run-marks.js';
export { instrumentationOptionsFromEnv } from './config.js';
export { refineSpanTimes } from './mapping/refine.js';
export type { ObservedTimes, ObservedBounds } from './mapping/refine.js';

// The sidecar.
export { startWatch } from './sidecar/watch.js';
export type { WatchOptions, WatchHandle, FatalReason } from './sidecar/watch.js';
export { createFileStateStore } from './state/file-store.js';
export type { FileStateStoreOptions } from './state/file-store.js';
export { createMemoryStateStore } from './state/memory-store.js';
export type { StateStore, StateSnapshot, WatchedThread, WatchedRun, StoreHooks } from './state/store.js';
export { StateLocationError } from './state/store.js';
export { createPostgresStateStore } from './state/postgres-store.js';
export type { PostgresStateStoreOptions } from './state/postgres-store.js';
export { StateStoreError, StateStoreUnavailableError } from './state/postgres-connection.js';
export type { LeasingStateStore, LeaseEvents, LeaseLossReason, LeaseStats, WatchListing, OwnedThread, OwnedRun } from './state/leasing.js';
export { createLogger } from './util/log.js';
export type { Logger, LogLevel } from './util/log.js';
