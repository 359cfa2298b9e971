/**
 * The `@azure/ai-agents` side of the tests: the simulator as a Foundry project over HTTPS (the SDK's
 * bearer-token policy refuses plain HTTP), its certificate made at test time and trusted by the
 * client through the pipeline's TLS options, a fake Entra ID credential, and small agents.
 */
import { AgentsClient, type ThreadRun } from '@azure/ai-agents';
import type { Simulator } from '../../src/simulator/index.js';
import { makeTestCertificates, type TestCertificates } from '../support/tls.js';
import { simulator, WEATHER_TOOL } from './helpers.js';

export const API_VERSION = '2025-05-15-preview';
const TOKEN = 'entra-test-token';

let certificates: TestCertificates | undefined;
function tls(): TestCertificates {
  certificates ??= makeTestCertificates();
  return certificates;
}

export function foundrySimulator(options: Parameters<typeof simulator>[0] = {}): Promise<Simulator> {
  const { key, cert } = tls();
  return simulator({ tls: { key, cert }, prefix: '/api/projects/test', auth: { kind: 'bearer', token: TOKEN }, apiVersion: API_VERSION, ...options });
}

/** A client of the simulator (of `Client`: the class as another module system loaded it, say). */
export function agentsClient(sim: Simulator, Client: typeof AgentsClient = AgentsClient): AgentsClient {
  const credential = { getToken: async () => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) };
  return new Client(sim.url, credential, { apiVersion: API_VERSION, tlsOptions: { ca: tls().ca }, retryOptions: { maxRetries: 0 } });
}

export interface AgentSeen {
  runId: string;
  /** Event names and the SDK's (camelCase, Date) data, as JSON. */
  events: string[];
  final: unknown;
}

/** `runs.create(...).stream()` → `requires_action` → `submitToolOutputs(...).stream()`. */
export async function streamLoop(client: AgentsClient, threadId: string, metadata: Record<string, string>, tool: (id: string) => Promise<string> = async () => 'clear'): Promise<AgentSeen> {
  const events: string[] = [];
  const first = await client.runs.create(threadId, 'asst_test', { tools: [WEATHER_TOOL as never], metadata }).stream();
  let waiting: ThreadRun | undefined;
  for await (const e of first) {
    events.push(JSON.stringify(e));
    if (e.event === 'thread.run.requires_action') waiting = e.data as ThreadRun;
  }
  if (!waiting || waiting.requiredAction?.type !== 'submit_tool_outputs') throw new Error('the run did not ask for outputs');
  const calls = (waiting.requiredAction as unknown as { submitToolOutputs: { toolCalls: Array<{ id: string }> } }).submitToolOutputs.toolCalls;
  const outputs = [];
  for (const call of calls) outputs.push({ toolCallId: call.id, output: await tool(call.id) });
  const second = await client.runs.submitToolOutputs(threadId, waiting.id, outputs).stream();
  let final: unknown;
  for await (const e of second) {
    events.push(JSON.stringify(e));
    if (e.event === 'thread.run.completed') final = e.data;
  }
  return { runId: waiting.id, events, final };
}

/** `runs.createAndPoll`: the SDK's poller to the end (a run without client tools). */
export async function pollRun(client: AgentsClient, threadId: string, metadata: Record<string, string>): Promise<AgentSeen> {
  const final = await client.runs.createAndPoll(threadId, 'asst_test', { metadata, pollingOptions: { intervalInMs: 5 } });
  return { runId: final.id, events: [], final };
}
