/**
 * Small agents, written against the `openai` SDK as an application would: a thread, a run with a
 * function tool, the tool's output submitted, the run's end. Each flow records what the application
 * sees (events, answers, errors) so a test can compare an instrumented client with a plain one.
 */
import type OpenAI from 'openai';
import type { AssistantStream } from 'openai/lib/AssistantStream';
import { runCall, WEATHER_TOOL, type OpenAISdk } from './helpers.js';

export interface SeenEvent {
  event: string;
  data: unknown;
}

export interface FlowResult {
  runId: string;
  events: SeenEvent[];
  /** The final run, as the application got it. */
  final: OpenAI.Beta.Threads.Runs.Run;
  /** The prototypes of the stream objects the application got (the SDK's own classes). */
  streamClasses: object[];
}

/** The application's tool: its code, given the tool call id. */
export type Tool = (toolCallId: string) => Promise<string>;

export const plainTool: Tool = async () => '{"sky":"clear"}';

export interface FlowInput {
  sdk: OpenAISdk;
  client: OpenAI;
  threadId: string;
  metadata: Record<string, string>;
  tool?: Tool;
}

type Run = OpenAI.Beta.Threads.Runs.Run;

async function outputsFor(run: Run, tool: Tool) {
  const calls = run.required_action?.submit_tool_outputs.tool_calls ?? [];
  const outputs = [];
  for (const call of calls) outputs.push({ tool_call_id: call.id, output: await tool(call.id) });
  return outputs;
}

/** `runs.stream()` → `requires_action` → `submitToolOutputsStream()` → the end (the SDK's AssistantStream). */
export async function assistantStreamLoop({ sdk, client, threadId, metadata, tool = plainTool }: FlowInput): Promise<FlowResult> {
  const events: SeenEvent[] = [];
  const first = client.beta.threads.runs.stream(threadId, { assistant_id: 'asst_test', tools: [WEATHER_TOOL], metadata });
  first.on('event', (e) => events.push(e));
  const waiting = await first.finalRun();
  const second = runCall<AssistantStream>(sdk, client, 'submitToolOutputsStream', threadId, waiting.id, { tool_outputs: await outputsFor(waiting, tool) });
  second.on('event', (e) => events.push(e));
  const final = await second.finalRun();
  return { runId: final.id, events, final, streamClasses: [Object.getPrototypeOf(first) as object, Object.getPrototypeOf(second) as object] };
}

/** `runs.create({ stream: true })` read with `for await`, then `submitToolOutputs({ stream: true })`. */
export async function rawStreamLoop({ sdk, client, threadId, metadata, tool = plainTool }: FlowInput): Promise<FlowResult> {
  const events: SeenEvent[] = [];
  const streamClasses: object[] = [];
  const first = await client.beta.threads.runs.create(threadId, { assistant_id: 'asst_test', tools: [WEATHER_TOOL], metadata, stream: true });
  streamClasses.push(Object.getPrototypeOf(first) as object);
  let waiting: Run | undefined;
  for await (const e of first) {
    events.push(e);
    if (e.event === 'thread.run.requires_action') waiting = e.data;
  }
  if (!waiting) throw new Error('the run did not ask for tool outputs');
  const second = await runCall<Promise<AsyncIterable<SeenEvent>>>(sdk, client, 'submitToolOutputs', threadId, waiting.id, { tool_outputs: await outputsFor(waiting, tool), stream: true });
  streamClasses.push(Object.getPrototypeOf(second) as object);
  let final: Run | undefined;
  for await (const e of second) {
    events.push(e);
    if (e.event.startsWith('thread.run.') && !e.event.startsWith('thread.run.step')) final = e.data as Run;
  }
  if (!final) throw new Error('no run event after the submit');
  return { runId: final.id, events, final, streamClasses };
}

/** `createAndPoll` → `requires_action` → `submitToolOutputsAndPoll` (the SDK's poll helpers). */
export async function pollLoop({ sdk, client, threadId, metadata, tool = plainTool }: FlowInput): Promise<FlowResult> {
  const waiting = await client.beta.threads.runs.createAndPoll(threadId, { assistant_id: 'asst_test', tools: [WEATHER_TOOL], metadata });
  const final = await runCall<Promise<Run>>(sdk, client, 'submitToolOutputsAndPoll', threadId, waiting.id, { tool_outputs: await outputsFor(waiting, tool) });
  return { runId: final.id, events: [{ event: 'poll', data: waiting }], final, streamClasses: [] };
}
