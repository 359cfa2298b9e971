import type { AuthMode } from './auth.js';
import type { RunScriptChooser } from './core.js';
import type { FaultRuleInput } from './fault-rules.js';
import type { RunScriptInput, Scenario, ScenarioInput } from './scenario-schema.js';
import type { RunTemplateName } from './scenarios/templates.js';

/** 2026-01-01T00:00:00Z: a fixed scenario time 0, so manual-clock records are the same on every run. */
export const DEFAULT_MANUAL_BASE_EPOCH_SECONDS = 1_767_225_600;
export const DEFAULT_SEED = 'assistants-otel';

export interface SimulatorOptions {
  /** TCP port. Default 0: the system picks a free one (read it from `sim.port` / `sim.url`). */
  port?: number;
  /** Interface to listen on. Default `'127.0.0.1'` (loopback only). */
  host?: string;
  /**
   * Serve HTTPS with this key and certificate (PEM) instead of HTTP; `sim.url` then starts with
   * `https://`. For clients that refuse plain HTTP (the Azure SDK's bearer-token policy).
   */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /**
   * Path prefix before `/threads`. Default `''` (like Prism). `'/v1'` is like api.openai.com,
   * `'/openai'` like Azure OpenAI, `'/api/projects/<project>'` like Azure Foundry.
   */
  prefix?: string;
  /** Credentials required. Default `'none'`. Credentials are never echoed or logged. */
  auth?: AuthMode;
  /** `api-version` value(s) required in the query (Azure); 400 when missing or different. Default: not required. */
  apiVersion?: string | readonly string[];
  /** Answer 400 `invalid_beta` unless `OpenAI-Beta: assistants=v2` is sent (as the live API did). Default false. */
  requireBetaHeader?: boolean;
  /** Send `apim-request-id` like Azure. Default: true when `auth` is `api-key` or `apiVersion` is set. */
  azureHeaders?: boolean;
  /**
   * Send a `Date` header on the simulator's clock (scenario time, the clock the records show), as an
   * API server does on its own. `false` sends none (a server without a clock). Default true.
   * With `baseEpochSeconds` some minutes off the wall clock, this is a server whose clock is off.
   */
  dateHeader?: boolean;
  /** `'manual'` (default): time moves only by `advance`/`advanceTo`/`runUntilIdle`. `'real'`: time follows the wall clock. */
  clock?: 'manual' | 'real';
  /** Real clock only: real milliseconds per scenario second. Default 1000 (real time); e.g. 50 plays a demo 20× faster. */
  timeScaleMillisPerSecond?: number;
  /**
   * Unix seconds shown for scenario time 0. Default: the scenario's `baseEpochSeconds`, else
   * 1767225600 (2026-01-01Z) with the manual clock, or the wall clock at start with the real clock
   * (so a demo's traces land in a trace UI's default "last hour" window); see `neverAhead`.
   */
  baseEpochSeconds?: number;
  /**
   * Real clock faster than real time: put scenario time 0 in the past by the scripted length ×
   * (speed − 1) / speed, so that no record of the scripted scenario is ever stamped in the future
   * (README "real clock"). The CLI's `demo` and `simulate` set it. Default false: time 0 is the
   * wall clock at start (the records then run ahead of it).
   */
  neverAhead?: boolean;
  /** Seed for every generated ID. Default: the scenario's `seed`, else `'assistants-otel'`. */
  seed?: string | number;
  /** A built-in name (`'demo'`, `'many-threads:20x5'`, …), a JSON file path, or a scenario object. Default: no threads. */
  scenario?: string | ScenarioInput | Scenario;
  /** Faults active from the start (after the scenario's own). More can be added with `sim.faults.add`. */
  faults?: readonly FaultRuleInput[];
  /**
   * Script of runs created over HTTP: a script, a template name, or a function of the request.
   * Default: a function call awaiting the client's outputs when the request offers a function tool,
   * else one message.
   */
  runScript?: RunScriptInput | RunTemplateName | RunScriptChooser;
  /** Receives one line per request (method, path, status, time, fault) and a startup line; never credentials. Default: silent. */
  log?: (line: string) => void;
}
