/**
 * The sidecar against a server that sends records as real servers do: times in milliseconds, a
 * negative `created_at`, usage in the Responses API's shape, `image: null`, Azure's `activities`
 * steps and tool call types, and a value nested 20,000 levels deep (put into the simulator's answers
 * by a loopback proxy: the simulator itself, like any JSON writer, cannot serialize that depth).
 * Every run is exported exactly once, as the mapping gives it; nothing is rejected; no terminal run is
 * polled again.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  comparable,
  countById,
  formatTree,
  metricValue,
  outputOf,
  pickComparable,
  registrationUrl,
  simRequests,
  startWatch,
  startWorld,
  subjectOf,
  waitForEverything,
  type World,
} from './helpers.js';

afterEach(cleanupAll);

const DEEP_MARKER = '__DEEP_20000__';
const DEEP_TEXT = `${'['.repeat(20_000)}0${']'.repeat(20_000)}`;

/** A proxy in front of the simulator that swaps the marker for a 20,000-level JSON value. */
async function deepeningProxy(world: World): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => k !== 'host' && k !== 'content-length' && typeof v === 'string')) as Record<string, string>;
      const answer = await fetch(`${world.sim.origin}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers,
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      });
      const text = (await answer.text()).split(`"${DEEP_MARKER}"`).join(DEEP_TEXT);
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(text);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const prefix = world.sim.url.slice(world.sim.origin.length);
  return { url: `http://127.0.0.1:${port}${prefix}`, port, close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }) };
}

describe('watch with records as real servers send them', () => {
  it('exports every run exactly once, as the mapping gives it, with the quirks on the spans', async () => {
    const nowMs = Date.now();
    const world = await startWorld({
      scenario: {
        name: 'odd-records',
        threads: [
          {
            id: 'thread_odd',
            runs: [
              // A server that writes Date.now(): the run's times in milliseconds.
              { id: 'run_odd_ms', startAt: 0, template: 'message', patch: { set: { created_at: nowMs, started_at: nowMs + 500 } } },
              {
                id: 'run_odd_image',
                startAt: 0,
                steps: [
                  {
                    type: 'tool_calls',
                    toolCalls: [{ type: 'code_interpreter', input: 'plot()', outputs: [{ type: 'logs', logs: 'ok' }, { type: 'image', fileId: 'file_a' }, { type: 'image', fileId: 'file_b' }] }],
                    patch: { set: { 'step_details.tool_calls.0.code_interpreter.outputs.1.image': null } },
                  },
                  { type: 'message_creation', text: 'Here is the plot.', patch: { set: { created_at: -28450271 } } },
                ],
              },
              {
                id: 'run_odd_azure',
                startAt: 1,
                steps: [
                  { type: 'activities', details: { activities: [{ type: 'mcp_list_tools', id: 'act_1', server_label: 'docs', tools: { search_docs: { parameters: { type: 'object', properties: {}, required: [] } } } }] } },
                  {
                    type: 'tool_calls',
                    toolCalls: [
                      { type: 'mcp', fields: { server_label: 'docs', name: 'search_docs', arguments: '{}', output: 'found' } },
                      { type: 'connected_agent', fields: { connected_agent: { name: 'billing', arguments: '{}', output: 'paid', run_id: 'run_child', thread_id: 'thread_child', assistant_id: 'asst_child' } } },
                      { type: 'bing_grounding', fields: { bing_grounding: { requesturl: 'https://api.bing.microsoft.com/v7.0/search?q=x', response_metadata: DEEP_MARKER } } },
                    ],
                  },
                ],
                // Usage as the Responses API writes it.
                patch: { set: { usage: { input_tokens: 30, output_tokens: 7, input_tokens_details: { cached_tokens: 20 }, output_tokens_details: { reasoning_tokens: 3 } } } },
              },
            ],
          },
        ],
      },
    });
    const proxy = await deepeningProxy(world);
    try {
      const cli = startWatch(world, ['--memory-state'], { env: { OPENAI_BASE_URL: proxy.url } });
      const url = await registrationUrl(cli);
      const expected = await waitForEverything(world, { extraDetails: () => outputOf(cli) });
      const received = world.receiver.spans();
      expect([...countById(received)].filter(([, n]) => n > 1), formatTree(received)).toEqual([]);
      expect(received.length).toBe(expected.length);

      // As the mapping gives it: the oracle maps the simulator's records, which hold the marker where
      // the sidecar saw 20,000 levels; the sidecar's span says that it cut them.
      const byId = new Map(received.map((s) => [s.spanId, s]));
      for (const span of expected) {
        const got = byId.get(span.spanId);
        expect(got, span.name).toBeDefined();
        const want = comparable(span);
        // The sidecar talks to the proxy: its port is the server's.
        want.attributes = { ...want.attributes, 'server.port': proxy.port };
        const deepStep = subjectOf(got!).kind === 'step' && span.attributes['assistants.step.tool_call_count'] === 3;
        if (deepStep) want.attributes = { ...want.attributes, 'assistants.quirks': ['nesting_depth_cut'] };
        expect(pickComparable(got!), span.name).toEqual(want);
      }
      const runOf = (id: string) => received.find((s) => subjectOf(s).kind === 'run' && subjectOf(s).runId === id)!;
      expect(runOf('run_odd_ms').attributes['assistants.quirks']).toEqual(['timestamp_milliseconds']);
      expect(runOf('run_odd_ms').startTimeUnixNano).toBe(BigInt(nowMs) * 1_000_000n);
      expect(runOf('run_odd_azure').attributes).toMatchObject({
        'gen_ai.usage.input_tokens': 30,
        'gen_ai.usage.output_tokens': 7,
        'assistants.usage.total_tokens': 37,
        'gen_ai.usage.cache_read.input_tokens': 20,
        'gen_ai.usage.reasoning.output_tokens': 3,
      });
      const names = received.filter((s) => subjectOf(s).kind === 'tool_call').map((s) => s.name).sort();
      expect(names).toEqual(['execute_tool billing', 'execute_tool bing_grounding', 'execute_tool code_interpreter', 'execute_tool search_docs']);
      const ci = received.find((s) => s.name === 'execute_tool code_interpreter')!;
      expect(ci.attributes['assistants.code_interpreter.image_file_ids']).toEqual(['file_b']);
      const placed = received.find((s) => subjectOf(s).kind === 'step' && s.attributes['assistants.quirks']?.toString().includes('timestamp_negative'));
      expect(placed?.attributes['assistants.quirks']).toEqual(['start_time_missing', 'timestamp_negative']);

      // Nothing rejected, warnings named by run, step and field; no terminal run polled again.
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metricValue(metrics, 'assistants_otel_records_rejected_total', '{kind="run"}') ?? 0).toBe(0);
      expect(metricValue(metrics, 'assistants_otel_records_rejected_total', '{kind="step"}') ?? 0).toBe(0);
      const log = cli.stderr();
      expect(log.split('\n').filter((l) => / ERROR /.test(l)), log).toEqual([]);
      expect(log).toMatch(/step record has malformed fields \(dropped\) .*run_id=run_odd_image .*outputs\[1\]\.image/);
      expect(log).toMatch(/step record has malformed fields \(dropped\) .*run_id=run_odd_azure .*nested deeper than 64 levels/);
      const polls = () => simRequests(world.sim, 'getRun').length + simRequests(world.sim, 'listRunSteps').length;
      const before = polls();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(polls()).toBe(before);
      expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
    } finally {
      await proxy.close();
    }
  });
});
