// Shared pieces of the API client's integration tests: the client against the protocol simulator
// over real HTTP on 127.0.0.1, small retry policies, a captured logger, and in-flight counting as the
// server sees it.
import { Writable } from 'node:stream';
import { RequestBudget } from '../../../src/api/budget.js';
import { createAssistantsClient, type ApiRetryPolicy, type AssistantsClientOptions, type ResponseEvent } from '../../../src/api/client.js';
import { ApiError } from '../../../src/api/errors.js';
import { createProvider, type ProviderOptions } from '../../../src/api/providers.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../../src/simulator/index.js';
import { createLogger, type Logger } from '../../../src/util/log.js';

/** Retries fast enough for tests: 5, 10, 20 ms (±20 %), four attempts in all. */
export const FAST_RETRY: ApiRetryPolicy = { maxAttempts: 4, initialDelayMillis: 5, maxDelayMillis: 20, multiplier: 2, jitterRatio: 0.2 };

/** A logger writing every level to memory, with no secret scrubbing: what the client itself says. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { logger: createLogger({ stream, level: 'debug', format: 'json' }), lines };
}

export interface ClientSetup {
  provider?: ProviderOptions;
  retry?: ApiRetryPolicy;
  timeoutMillis?: number;
  budget?: RequestBudget;
  logger?: Logger;
}

/** A client for `sim` (an OpenAI-compatible profile at `sim.url` unless `provider` says otherwise). */
export function clientFor(sim: Simulator, setup: ClientSetup = {}) {
  const events: ResponseEvent[] = [];
  const options: AssistantsClientOptions = {
    provider: createProvider({ baseUrl: sim.url, ...setup.provider }),
    retry: setup.retry ?? FAST_RETRY,
    timeoutMillis: setup.timeoutMillis ?? 5_000,
    budget: setup.budget ?? new RequestBudget({ maxConcurrency: 8, requestsPerSecond: 1_000 }),
    onResponse: (event) => events.push(event),
    ...(setup.logger ? { logger: setup.logger } : {}),
  };
  return { client: createAssistantsClient(options), events };
}

/** The rejection of `promise`, which must be an ApiError. */
export async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected an ApiError, got a result: ${JSON.stringify(outcome.value)?.slice(0, 300)}`);
  if (!(outcome.error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(outcome.error)}`);
  return outcome.error;
}

/**
 * A simulator whose `log` hook counts the requests the server holds at once. A request is in flight
 * from its arrival (it is in `sim.requests`) until it is answered or dropped (the log line); so just
 * before each answer, `requests.length - answered` were in flight.
 */
export async function simulatorWithInFlightCount(options: SimulatorOptions): Promise<{ sim: Simulator; peakInFlight: () => number }> {
  let answered = 0;
  let peak = 0;
  const started: { sim?: Simulator } = {};
  const sim = await createSimulator({
    ...options,
    log: (line) => {
      if (started.sim === undefined || line.startsWith('simulator listening')) return;
      peak = Math.max(peak, started.sim.requests.length - answered);
      answered++;
    },
  });
  started.sim = sim;
  return { sim, peakInFlight: () => peak };
}

/** Gaps between consecutive arrivals at the simulator, in real milliseconds. */
export function arrivalGaps(sim: Simulator): number[] {
  const times = sim.requests.map((r) => r.receivedAtMs);
  return times.slice(1).map((t, i) => t - (times[i] as number));
}
