/**
 * README "Library": "the official `openai` SDK's `Run` and `RunStep` types are assignable to ours".
 * Type-level only (vitest typecheck): each SDK type must extend the model's inferred type, so a value
 * the SDK hands out can be passed to `mapRunToSpans` and friends without a cast.
 */
import type OpenAI from 'openai';
import { describe, expectTypeOf, it } from 'vitest';
import type {
  CodeInterpreterOutput,
  CodeInterpreterToolCall,
  FileSearchResult,
  FileSearchToolCall,
  FunctionToolCall,
  LastError,
  MessageCreationDetails,
  Metadata,
  Run,
  RunStep,
  StepDetails,
  ToolCall,
  ToolCallsDetails,
  Usage,
} from '../../src/api/schemas.js';
import type { RunRecord } from '../../src/mapping/types.js';

type SdkRunStep = OpenAI.Beta.Threads.Runs.RunStep;
type SdkRun = OpenAI.Beta.Threads.Run;
type SdkToolCall = OpenAI.Beta.Threads.Runs.ToolCall;
type SdkFunctionToolCall = OpenAI.Beta.Threads.Runs.FunctionToolCall;
type SdkCodeInterpreterToolCall = OpenAI.Beta.Threads.Runs.CodeInterpreterToolCall;
type SdkCodeInterpreterOutput = OpenAI.Beta.Threads.Runs.CodeInterpreterToolCall.CodeInterpreter['outputs'][number];
type SdkFileSearchToolCall = OpenAI.Beta.Threads.Runs.FileSearchToolCall;
type SdkFileSearchResult = OpenAI.Beta.Threads.Runs.FileSearchToolCall.FileSearch.Result;
type SdkMessageCreation = OpenAI.Beta.Threads.Runs.MessageCreationStepDetails;
type SdkToolCallsDetails = OpenAI.Beta.Threads.Runs.ToolCallsStepDetails;
type SdkStepDetails = OpenAI.Beta.Threads.Runs.RunStep['step_details'];

describe('the openai SDK (v6) types are assignable to the model types', () => {
  it('RunStep', () => {
    expectTypeOf<SdkRunStep>().toExtend<RunStep>();
  });

  it('Run', () => {
    expectTypeOf<SdkRun>().toExtend<Run>();
  });

  it('step details: message_creation, tool_calls, and their union', () => {
    expectTypeOf<SdkMessageCreation>().toExtend<MessageCreationDetails>();
    expectTypeOf<SdkToolCallsDetails>().toExtend<ToolCallsDetails>();
    expectTypeOf<SdkStepDetails>().toExtend<StepDetails>();
  });

  it('tool calls: function, code_interpreter (and its outputs), file_search (and its results), and their union', () => {
    expectTypeOf<SdkFunctionToolCall>().toExtend<FunctionToolCall>();
    expectTypeOf<SdkCodeInterpreterToolCall>().toExtend<CodeInterpreterToolCall>();
    expectTypeOf<SdkCodeInterpreterOutput>().toExtend<CodeInterpreterOutput>();
    expectTypeOf<SdkFileSearchToolCall>().toExtend<FileSearchToolCall>();
    expectTypeOf<SdkFileSearchResult>().toExtend<FileSearchResult>();
    expectTypeOf<SdkToolCall>().toExtend<ToolCall>();
  });

  it('usage, last_error and metadata of runs and steps', () => {
    expectTypeOf<OpenAI.Beta.Threads.Runs.RunStep.Usage>().toExtend<Usage>();
    expectTypeOf<OpenAI.Beta.Threads.Run.Usage>().toExtend<Usage>();
    expectTypeOf<OpenAI.Beta.Threads.Runs.RunStep.LastError>().toExtend<LastError>();
    expectTypeOf<OpenAI.Beta.Threads.Run.LastError>().toExtend<LastError>();
    expectTypeOf<OpenAI.Metadata>().toExtend<Metadata>();
  });

  it('SDK values go straight into a RunRecord, without a cast', () => {
    const fromSdk = (run: SdkRun, steps: SdkRunStep[]): RunRecord => ({ runId: run.id, run, steps });
    expectTypeOf(fromSdk).returns.toEqualTypeOf<RunRecord>();
  });
});
