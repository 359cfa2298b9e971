// An Assistants-protocol (v2) server for tests, the demo and benchmarks: scripted run lifecycles
// over scenario time, pagination, streaming, and faults on demand. Self-contained by design.
export { createSimulator } from './simulator.js';
export type { Simulator, StartRunOptions, StateSnapshot, ThreadRecords } from './simulator.js';
export type { SimulatorOptions } from './options.js';
export { DEFAULT_MANUAL_BASE_EPOCH_SECONDS, DEFAULT_SEED } from './options.js';
export { loadScenario, parseScenario, ScenarioError, scenarioJsonSchema } from './scenario.js';
export { builtInScenarios } from './scenarios/index.js';
export type { BuiltInScenarioName } from './scenarios/index.js';
export { manyThreadsScenario } from './scenarios/many-threads.js';
export type { ManyThreadsOptions } from './scenarios/many-threads.js';
export { runTemplateNames, runTemplates } from './scenarios/templates.js';
export type { RunTemplateName } from './scenarios/templates.js';
export { ScriptError } from './script.js';
export type { RunScriptChooser } from './core.js';
export type { RunParams } from './world.js';
export type { AuthMode } from './auth.js';
export { REDACTED } from './auth.js';
export type { FaultController, FaultHandle, FaultStatus } from './faults.js';
export type { FaultKind, FaultRule, FaultRuleInput } from './fault-rules.js';
export { INJECTED_RECORD_PRESETS } from './fault-rules.js';
export type { RequestRecord } from './server.js';
export { OPERATIONS } from './operations.js';
export type { OperationId } from './operations.js';
export { FILE_SEARCH_CONTENT_INCLUDE } from './pagination.js';
export type {
  RecordPatch,
  RunOutcome,
  RunScript,
  RunScriptInput,
  Scenario,
  ScenarioInput,
  ScenarioRunInput,
  StepScriptInput,
} from './scenario-schema.js';
export { scenarioSchema } from './scenario-schema.js';
export type { ApiList, ApiMessage, ApiRun, ApiStep, ApiStepDetails, ApiThread, ApiToolCall, ApiUsage } from './api-types.js';
