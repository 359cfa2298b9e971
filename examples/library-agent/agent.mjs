// A small agent traced with the library instrumentation: each question is a request span; the run
// it starts (its steps, its tool call) and the tool's own code appear inside that request's trace.
//
//   npm run build
//   OPENAI_BASE_URL=http://127.0.0.1:8080 OPENAI_API_KEY=… ASSISTANT_ID=asst_… \
//   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces node examples/library-agent/agent.mjs "Weather in Lisbon?"
//
// Plain Node (20+), importing the package by its name. Against the simulator: `assistants-otel simulate --port 8080`.
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { createDeterministicIdGenerator, createOtlpTraceExporter, instrumentOpenAI, withToolCallContext } from 'assistants-otel';

// The application's own OpenTelemetry set-up. The one line for the library: its IdGenerator, so the
// run's spans get the same IDs the sidecar and `import` give them (and tool code can be parented early).
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'weather-agent' }),
  idGenerator: createDeterministicIdGenerator(),
  spanProcessors: [new BatchSpanProcessor(createOtlpTraceExporter({ url: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? 'http://localhost:4318/v1/traces' }))],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracer = provider.getTracer('weather-agent');

const openai = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY ?? 'sk-none' });
const tracing = instrumentOpenAI(openai, { tracerProvider: provider });

const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

/** The tool: the application's own code, with a span of its own. */
async function getWeather(args) {
  return tracer.startActiveSpan('weather lookup', async (span) => {
    span.setAttribute('city', args.city ?? 'Lisbon');
    await new Promise((resolve) => setTimeout(resolve, 20)); // a call to a weather service
    span.end();
    return JSON.stringify({ city: args.city ?? 'Lisbon', temperature_c: 21, sky: 'clear' });
  });
}

async function ask(question) {
  return tracer.startActiveSpan('POST /ask', { kind: SpanKind.SERVER }, async (span) => {
    try {
      const thread = await openai.beta.threads.create({ messages: [{ role: 'user', content: question }] });
      let stream = openai.beta.threads.runs.stream(thread.id, { assistant_id: process.env.ASSISTANT_ID ?? 'asst_weather', tools: [weatherTool] });
      let run = await stream.finalRun();
      while (run.status === 'requires_action') {
        const calls = run.required_action?.submit_tool_outputs.tool_calls ?? [];
        const tool_outputs = await Promise.all(
          calls.map(async (call) => ({
            tool_call_id: call.id,
            // The tool's code runs inside its tool call's span.
            output: await withToolCallContext(call.id, () => getWeather(JSON.parse(call.function.arguments || '{}'))),
          })),
        );
        stream = openai.beta.threads.runs.submitToolOutputsStream(run.id, { thread_id: thread.id, tool_outputs });
        run = await stream.finalRun();
      }
      const answer = (await stream.finalMessages()).flatMap((m) => m.content).map((c) => (c.type === 'text' ? c.text.value : '')).join('\n');
      span.setAttribute('run.status', run.status);
      return { run, answer };
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

const { run, answer } = await ask(process.argv[2] ?? 'What is the weather in Lisbon?');
console.log(`${run.id} ${run.status}: ${answer}`);
// Before exiting: the library hands the finished run's spans on, then the provider exports them.
await tracing.shutdown();
await provider.shutdown();
