/**
 * An OpenTelemetry `Instrumentation` for `registerInstrumentations` and auto-instrumentation set-ups,
 * covering both SDKs:
 *
 * - `openai` (majors 4 to 7): the run methods of the `Runs` and `Threads` classes' prototypes get
 *   the same wrappers `instrumentOpenAI` puts on one client (openai-wrappers.ts), so every client,
 *   made before or after, is traced; `disable()` puts the SDK's own functions back.
 * - `@azure/ai-agents` (1.x): `createAgents`, the factory every `AgentsClient` builds its pipeline
 *   with, adds the capture policy (azure-policy.ts) to each new client's pipeline. While disabled,
 *   the policies of clients made meanwhile pass every request through untouched.
 *
 * CommonJS `require` is patched through require-in-the-middle as with any instrumentation. ESM
 * `import` needs import-in-the-middle's loader hook (`node --import @opentelemetry/instrumentation/hook.mjs`,
 * or the SDK's `register` helper) before the SDK is imported; without it an ESM application can
 * use `instrumentOpenAI(client)` / `instrumentAzureAgents(client)` on its clients instead.
 */
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import { PACKAGE_NAME, VERSION } from '../version.js';
import { addCapturePolicy, agentsContextReader, type AgentsContextLike } from './azure-agents.js';
import { createCapturePolicy } from './azure-policy.js';
import type { RunSource } from './followed-run.js';
import { openAISource } from './openai.js';
import { wrapperFor, type AnyFunction, type OpenAITarget, type WrappedMethod } from './openai-wrappers.js';
import { TracingSession, type InstrumentOptions } from './session.js';

export interface AssistantsInstrumentationConfig extends InstrumentationConfig, Omit<InstrumentOptions, 'tracerProvider'> {
  /** Package names to patch as `openai` (an alias such as `openai-v4` included). @default ['openai'] */
  openaiModules?: string[];
  /** Package names to patch as `@azure/ai-agents`. @default ['@azure/ai-agents'] */
  azureAgentsModules?: string[];
}

const OPENAI_VERSIONS = ['>=4.0.0 <8'];
const AGENTS_VERSIONS = ['>=1.0.0 <2'];

interface WrappedFunction {
  __wrapped?: boolean;
}

type Prototype = Record<string, unknown>;

/** The `Runs` and `Threads` prototypes of an `openai` module's exports (CommonJS or ESM namespace). */
function openAIPrototypes(exports: unknown): { runs: Prototype; threads: Prototype } | undefined {
  const moduleExports = exports as { OpenAI?: unknown; default?: unknown } | null;
  const client = (moduleExports?.OpenAI ?? moduleExports?.default ?? moduleExports) as
    | { Beta?: { Threads?: { prototype?: Prototype; Runs?: { prototype?: Prototype } } } }
    | undefined;
  const threads = client?.Beta?.Threads;
  const runs = threads?.Runs?.prototype;
  return threads?.prototype && runs ? { runs, threads: threads.prototype } : undefined;
}

const RUNS_METHODS: WrappedMethod[] = ['create', 'submitToolOutputs', 'retrieve', 'cancel'];

export class AssistantsInstrumentation extends InstrumentationBase<AssistantsInstrumentationConfig> {
  // Set lazily: the base class's constructor calls init() and enable() before field initializers run.
  private declare session: TracingSession | undefined;
  private declare sources: WeakMap<object, RunSource> | undefined;

  constructor(config: AssistantsInstrumentationConfig = {}) {
    super(PACKAGE_NAME, VERSION, config);
  }

  override enable(): void {
    super.enable();
    this.currentSession();
  }

  override disable(): void {
    super.disable();
    this.session?.stop();
    this.session = undefined;
  }

  /** Resolves once every finished run's spans were handed to the TracerProvider (or delivered). */
  async flush(): Promise<void> {
    await this.session?.flush();
  }

  override setConfig(config: AssistantsInstrumentationConfig): void {
    super.setConfig(config);
    // Options take effect for runs created from now on.
    if (this.session) {
      this.session.stop();
      this.session = undefined;
      if (this.isEnabled()) this.currentSession();
    }
  }

  private currentSession(): TracingSession | undefined {
    if (!this.isEnabled()) return undefined;
    this.session ??= new TracingSession({ ...this.getConfig() }, () => this.tracer);
    return this.session;
  }

  protected init() {
    const config = this.getConfig();
    const openai = (config.openaiModules ?? ['openai']).map(
      (name) => new InstrumentationNodeModuleDefinition(name, OPENAI_VERSIONS, (exports) => this.patchOpenAI(exports), (exports) => this.unpatchOpenAI(exports)),
    );
    const agents = (config.azureAgentsModules ?? ['@azure/ai-agents']).map((name) => {
      const file = (dialect: string) =>
        new InstrumentationNodeModuleFile(`${name}/dist/${dialect}/api/agentsContext.js`, AGENTS_VERSIONS, (exports) => this.patchAgentsContext(exports), (exports) => this.unpatchAgentsContext(exports));
      return new InstrumentationNodeModuleDefinition(name, AGENTS_VERSIONS, undefined, undefined, [file('commonjs'), file('esm')]);
    });
    return [...openai, ...agents];
  }

  /** The session and client of a `Runs` or `Threads` object (`this` of a wrapped method). */
  private resolveOpenAI(resource: unknown): OpenAITarget | undefined {
    const session = this.currentSession();
    const self = resource as { _client?: unknown; runs?: unknown; retrieve?: unknown } | null;
    if (!session || !self || typeof self._client !== 'object' || self._client === null) return undefined;
    const runs = (typeof self.retrieve === 'function' ? self : self.runs) as Parameters<typeof openAISource>[2] | undefined;
    if (!runs) return undefined;
    this.sources ??= new WeakMap();
    let source = this.sources.get(runs);
    if (!source) {
      source = openAISource(session, self._client, runs, runs.retrieve as unknown as AnyFunction);
      this.sources.set(runs, source);
    }
    return { session, source };
  }

  private patchOpenAI(exports: unknown): unknown {
    const prototypes = openAIPrototypes(exports);
    if (!prototypes) {
      this._diag.warn('openai: no beta.threads.runs in this version; not instrumented');
      return exports;
    }
    const resolve = (resource: unknown) => this.resolveOpenAI(resource);
    const wrap = (prototype: Prototype, method: WrappedMethod) => {
      const current = prototype[method] as (AnyFunction & WrappedFunction) | undefined;
      if (typeof current !== 'function' || current.__wrapped) return;
      this._wrap(prototype, method, (original: unknown) => wrapperFor(method, original as AnyFunction, resolve) as never);
    };
    for (const method of RUNS_METHODS) wrap(prototypes.runs, method);
    wrap(prototypes.threads, 'createAndRun');
    return exports;
  }

  private unpatchOpenAI(exports: unknown): void {
    const prototypes = openAIPrototypes(exports);
    if (!prototypes) return;
    for (const method of RUNS_METHODS) this._unwrap(prototypes.runs, method);
    this._unwrap(prototypes.threads, 'createAndRun');
  }

  private patchAgentsContext(exports: unknown): unknown {
    const target = exports as { createAgents?: unknown } | null;
    if (typeof target?.createAgents !== 'function' || (target.createAgents as WrappedFunction).__wrapped) return exports;
    const sessionOf = () => this.currentSession();
    this._wrap(target as { createAgents: AnyFunction }, 'createAgents', (original: AnyFunction) =>
      function createAgents(this: unknown, ...args: unknown[]) {
        const ctx = original.apply(this, args) as AgentsContextLike;
        const session = sessionOf();
        session?.guard.run('instrumenting an AgentsClient', () => {
          const policy = createCapturePolicy(sessionOf, { reader: agentsContextReader(ctx), providerName: session.providerName('azure.ai.agents') });
          addCapturePolicy(ctx, policy);
        }, undefined);
        return ctx;
      },
    );
    return exports;
  }

  private unpatchAgentsContext(exports: unknown): void {
    const target = exports as { createAgents?: unknown } | null;
    if (typeof target?.createAgents === 'function') this._unwrap(target as { createAgents: AnyFunction }, 'createAgents');
  }
}
