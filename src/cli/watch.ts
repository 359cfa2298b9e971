/**
 * `assistants-otel watch`: the sidecar. Runs until SIGTERM/SIGINT (then drains, persists, exits 0),
 * or until the API refuses our credentials (exits 1).
 */
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  apiConfigFromEnv,
  ConfigError,
  deliveryOptionsFromEnv,
  fleetConfigFromEnv,
  listenTokenFromEnv,
  mappingOptionsFromEnv,
  MAX_TIMER_MILLIS,
  otlpOptionsFromEnv,
  parseDuration,
  resourceOptionsFromEnv,
  stateConfigFromEnv,
  type Env,
} from '../config.js';
import { startWatch, type WatchHandle } from '../sidecar/watch.js';
import { createFileStateStore } from '../state/file-store.js';
import { createMemoryStateStore } from '../state/memory-store.js';
import { createPostgresStateStore } from '../state/postgres-store.js';
import { StateInUseError } from '../state/lock.js';
import { StateStoreError } from '../state/postgres-connection.js';
import { StateLocationError } from '../state/store.js';
import { createLogger, isLogLevel } from '../util/log.js';
import { connectionUrlSecrets, redactConnectionUrl, redactUrl } from '../util/redact.js';
import { VERSION } from '../version.js';
import { apiId, UsageError } from './args.js';
import { EXIT_FAILURE, EXIT_OK, type CliIo } from './io.js';
import { API_CONNECTION_FLAGS, apiFlags, EXPORT_FLAGS, mappingFlags, otlpFlags } from './flags.js';
import { readThreadsFile } from './threads-file.js';
import { API_FLAGS_HELP, parseFlags } from './query.js';

export const WATCH_HELP = `Usage: assistants-otel watch [options]

The sidecar: watches threads and runs, discovers new runs, and exports each finished run as a
trace (with all its steps), exactly once, whatever the API and the collector do.

What to watch (all optional; more can be registered over HTTP):
  --thread ID                watch a thread's new runs (repeatable)
  --threads-file FILE        one thread id per line (# starts a comment)
  --run THREAD:RUN           follow one run (repeatable)
  --backfill                 also export a watched thread's earlier runs
  --include-library-runs     also export runs the library instrumentation traces (marked in their
                             metadata; left to it by default, so the backend gets one version)

Pace and delivery:
  --poll-interval DUR        how often active runs are read (default 2s; e.g. 500ms, 2s, 1m)
  --max-idle-interval DUR    discovery on an idle thread slows down to this (default 60s)
  --idle-ttl DUR             stop watching a thread idle this long (default 24h)
  --request-timeout DUR      give up on an API request unanswered this long (default 30s)
  --live                     export each finished step at once, not the whole run at its end
  --drain-timeout DUR        on SIGTERM, wait this long for the collector (default 20s)
  --max-queued-spans N       spans held for delivery at most (default 20000;
                             ASSISTANTS_OTEL_MAX_QUEUED_SPANS); polling pauses before it
  --max-queued-bytes SIZE    bytes held for delivery at most (default 32MiB;
                             ASSISTANTS_OTEL_MAX_QUEUED_BYTES)

State and endpoint:
  --state PATH               crash-safe state file (default $XDG_STATE_HOME/assistants-otel/state.json,
                             or ~/.local/state/assistants-otel/state.json); refused spans go to
                             rejected/ next to it; a path that cannot be used is a start-up
                             error, a write failure while running makes /healthz answer 503 and
                             the sidecar drain and exit 1
  --state postgres://…       state in PostgreSQL instead (or ASSISTANTS_OTEL_STATE_URL), shared by
                             a fleet: each sidecar follows the threads it holds a lease on; refused
                             spans go to rejected/ in the default state directory
  --lease DUR                a fleet member's lease (default 30s; ASSISTANTS_OTEL_LEASE): a dead
                             member's threads are taken over within it; renewed every third
  --member-id ID             this member's id, unique in the fleet (default hostname-pid-hex;
                             ASSISTANTS_OTEL_MEMBER_ID); shown as the owner in GET /v1/watch
  --memory-state             keep state in memory only (nothing survives a restart; not
                             with --state)
  --listen [HOST:]PORT       serve /v1/watch (GET, POST, DELETE), /healthz and /metrics
                             (host defaults to 127.0.0.1); ASSISTANTS_OTEL_LISTEN_TOKEN
                             requires a bearer token

Logs:
  --log-format json|text     (default text)
  --log-level LEVEL          debug, info (default), warn, error

  -h, --help                 show this help

OTLP: OTEL_EXPORTER_OTLP_* variables, or --otlp-endpoint URL, --otlp-protocol P
Content: --capture-content, --content-max-length N (see "import --help")

${API_FLAGS_HELP.split('\nOutput options:')[0]}
Exit status:
  0    stopped by SIGTERM or SIGINT, after draining (up to --drain-timeout)
  1    stopped because it could not go on: the API refused the credentials, or the state store
       failed while running; what could be delivered was drained first
  2    usage or configuration error, or a start-up failure (the state file locked by another
       sidecar or unusable, the --listen port in use, the state database unreachable)
  130  a second signal during the drain
`;

export const WATCH_FLAGS = {
  thread: { type: 'string', multiple: true },
  'threads-file': { type: 'string' },
  run: { type: 'string', multiple: true },
  backfill: { type: 'boolean' },
  'include-library-runs': { type: 'boolean' },
  'poll-interval': { type: 'string' },
  'max-idle-interval': { type: 'string' },
  'idle-ttl': { type: 'string' },
  'request-timeout': { type: 'string' },
  live: { type: 'boolean' },
  'drain-timeout': { type: 'string' },
  'max-queued-spans': { type: 'string' },
  'max-queued-bytes': { type: 'string' },
  state: { type: 'string' },
  'memory-state': { type: 'boolean' },
  lease: { type: 'string' },
  'member-id': { type: 'string' },
  listen: { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  ...EXPORT_FLAGS,
  ...API_CONNECTION_FLAGS,
  help: { type: 'boolean', short: 'h' },
} as const;

export function defaultStatePath(env: Env): string {
  const base = env['XDG_STATE_HOME'] || join(env['HOME'] || homedir(), '.local', 'state');
  return join(base, 'assistants-otel', 'state.json');
}

export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new UsageError(`--listen: expected [HOST:]PORT, e.g. 9464 or 127.0.0.1:9464, got "${value}"`);
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

export function parseRunRef(value: string): { threadId: string; runId: string } {
  const [threadId, runId, extra] = value.split(':');
  if (!threadId || !runId || extra !== undefined) throw new UsageError(`--run: expected THREAD:RUN, e.g. thread_abc:run_123, got "${value}"`);
  return { threadId: apiId(threadId, '--run'), runId: apiId(runId, '--run') };
}

export async function watchCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('watch', argv, WATCH_FLAGS);
  if (values.help) {
    io.stdout.write(WATCH_HELP);
    return EXIT_OK;
  }
  const level = values['log-level'] ?? 'info';
  if (!isLogLevel(level)) throw new UsageError(`--log-level: expected debug, info, warn or error, got "${level}"`);
  const format = values['log-format'] ?? 'text';
  if (format !== 'json' && format !== 'text') throw new UsageError(`--log-format: expected json or text, got "${format}"`);

  if (values['memory-state'] && values.state !== undefined) {
    throw new UsageError('watch: --memory-state and --state contradict each other (keep state in memory, or where --state says): give one');
  }
  const timer = { maxMillis: MAX_TIMER_MILLIS };
  const pollIntervalMillis = parseDuration(values['poll-interval'] ?? '2s', '--poll-interval', timer);
  const maxIdleIntervalMillis = parseDuration(values['max-idle-interval'] ?? '60s', '--max-idle-interval', timer);
  const idleTtlMillis = parseDuration(values['idle-ttl'] ?? '24h', '--idle-ttl');
  const drainMillis = parseDuration(values['drain-timeout'] ?? '20s', '--drain-timeout', timer);
  const requestTimeoutMillis = parseDuration(values['request-timeout'] ?? '30s', '--request-timeout', timer);
  const listen = values.listen ? parseListen(values.listen) : undefined;

  const api = apiConfigFromEnv(io.env, apiFlags(values));
  const otlp = otlpOptionsFromEnv(io.env, otlpFlags(values));
  const mapping = mappingOptionsFromEnv(io.env, mappingFlags(values));
  const listenToken = listenTokenFromEnv(io.env);
  const state = stateConfigFromEnv(io.env, { state: values.state, memoryState: values['memory-state'] }, defaultStatePath(io.env));
  const fleet = fleetConfigFromEnv(io.env, { lease: values.lease, memberId: values['member-id'] }, state.kind === 'postgres');
  const stateSecrets = state.kind === 'postgres' ? connectionUrlSecrets(state.url) : [];
  const secrets = () => [...api.provider.credentials.secrets(), ...Object.values(otlp.headers ?? {}), listenToken, ...stateSecrets];
  const logger = createLogger({ stream: io.stderr, format, level, secrets });
  if (api.notice) logger.warn(api.notice);

  const threads = [...(values.thread ?? []).map((id) => apiId(id.trim(), '--thread')), ...(values['threads-file'] ? await readThreadsFile(values['threads-file'], io.stdin) : [])];
  const runs = (values.run ?? []).map(parseRunRef);
  // The store is made by startWatch with the hooks that log and count its warnings and stop the
  // sidecar when it fails (a full disk).
  const store: Parameters<typeof startWatch>[0]['store'] =
    state.kind === 'memory'
      ? createMemoryStateStore()
      : state.kind === 'postgres'
        ? (hooks) => createPostgresStateStore({ url: state.url, source: state.source, leaseMillis: fleet.leaseMillis, ...(fleet.memberId ? { memberId: fleet.memberId } : {}), onWarning: hooks.onWarning })
        : (hooks) => createFileStateStore(state.path, hooks);
  // Refused spans are files: next to the state file, or in the default state directory.
  const rejectedDirectory = state.kind === 'memory' ? undefined : join(dirname(state.kind === 'file' ? state.path : defaultStatePath(io.env)), 'rejected');
  const delivery = deliveryOptionsFromEnv(io.env, {
    maxRetryDelay: values['max-retry-delay'] as string | undefined,
    maxQueuedSpans: values['max-queued-spans'],
    maxQueuedBytes: values['max-queued-bytes'],
  });

  let handle: WatchHandle;
  try {
    handle = await startWatch({
      provider: api.provider,
      budget: api.budget,
      otlp,
      resource: resourceOptionsFromEnv(io.env),
      mapping,
      store,
      // On PostgreSQL the sidecar is a fleet member (alone, it is a fleet of one and holds every lease).
      fleet: state.kind === 'postgres',
      delivery,
      ...(rejectedDirectory ? { rejectedDirectory } : {}),
      ...(state.kind === 'memory' ? { volatileState: true } : {}),
      live: values.live ?? false,
      pollIntervalMillis,
      maxIdleIntervalMillis,
      idleTtlMillis,
      requestTimeoutMillis,
      backfill: values.backfill ?? false,
      includeLibraryRuns: values['include-library-runs'] ?? false,
      threads,
      runs,
      ...(listen ? { listen: { ...listen, ...(listenToken ? { token: listenToken } : {}) } } : {}),
      logger,
    });
  } catch (error) {
    // Named against the flag: the path cannot be used (a directory, /proc, no permission, read-only).
    // Start-up failures are exit 2, like usage and configuration errors: nothing was done, and what
    // must change (a path, a port, another sidecar, the database) is outside this run (README "Exit status").
    const stateFlag = values.state !== undefined ? '--state' : '--state (default)';
    if (error instanceof StateLocationError || error instanceof StateInUseError) throw new ConfigError(stateFlag, error.message);
    if (error instanceof StateStoreError) throw new UsageError(`watch: ${error.message}`);
    const code = (error as NodeJS.ErrnoException).code;
    if (listen && (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES')) {
      const why = code === 'EADDRINUSE' ? 'the port is in use (another sidecar?)' : code === 'EACCES' ? 'not permitted (a port below 1024?)' : 'no such address on this host';
      throw new ConfigError('--listen', `cannot listen on ${listen.host}:${listen.port}: ${why}`);
    }
    throw error;
  }
  const watched = handle.poller.stats();
  // A fleet member follows what its leases hold, loaded just after joining: ask the shared set.
  const shared = state.kind === 'postgres' && !listen ? await handle.poller.listing().catch(() => undefined) : undefined;
  const nothing = shared ? shared.threads.length === 0 && shared.runs.length === 0 : watched.threads === 0 && watched.runs === 0;
  if (!listen && nothing) {
    // Nothing given, nothing persisted, and no way to be told: it would poll nothing forever.
    await handle.stop();
    throw new UsageError(
      `watch: nothing to watch: give --thread ID, --threads-file FILE or --run THREAD:RUN, or --listen [HOST:]PORT to register threads over HTTP${
        state.kind === 'file' ? ` (the state file ${state.path} holds none)` : state.kind === 'postgres' ? ' (the state database holds none)' : ''
      }`,
    );
  }
  // One line with what a reader needs to know the sidecar is doing what they meant.
  logger.info('sidecar started', {
    threads: watched.threads,
    runs: watched.runs,
    ...(state.kind === 'postgres' ? { member_id: handle.poller.memberId, lease_ms: fleet.leaseMillis } : {}),
    mode: values.live ? 'live' : 'batch',
    api: redactUrl(api.provider.baseUrl),
    export_to: redactUrl(otlp.url),
    state: state.kind === 'memory' ? 'memory' : state.kind === 'file' ? state.path : redactConnectionUrl(state.url),
    ...(handle.registrationUrl ? { listen: handle.registrationUrl } : {}),
    version: VERSION,
  });

  // The poller's timers are unref'd (a library must not keep its host alive); the command must.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const stopSignal = new Promise<'signal'>((resolve) => {
    if (io.signal.aborted) resolve('signal');
    io.signal.addEventListener('abort', () => resolve('signal'), { once: true });
  });
  const outcome = await Promise.race([stopSignal, handle.fatal]);
  const force = AbortSignal.timeout(drainMillis);
  const why = outcome === 'signal' ? 'draining deliveries' : outcome.kind === 'auth' ? 'the API refused our credentials' : 'the state store failed';
  logger.info(`stopping: ${why}`);
  // A signal during the drain (the first one, if the stop was fatal) cuts it short; a second one
  // exits at once (bin.ts).
  if (outcome !== 'signal') io.signal.addEventListener('abort', () => void handle.stop(AbortSignal.abort()), { once: true });
  try {
    await handle.stop(force);
  } finally {
    clearInterval(keepAlive);
  }
  return outcome === 'signal' ? EXIT_OK : EXIT_FAILURE;
}
