/**
 * The deployment examples agree with the CLI. Every Compose and Kubernetes file under examples/ is
 * parsed, and each container that runs assistants-otel is checked with the CLI's own parsers: its
 * command and flags (the command registry), its environment variables (the variables the code
 * reads) and their values (the configuration functions), the ports it listens on and is probed on.
 * Across services, every URL (the OTLP endpoint, the API, a data source) must point at a service
 * that listens on that port, every published port at one the service listens on, every mounted
 * file at a file in the repository.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseFlags } from '../../src/cli/args.js';
import { COMMANDS } from '../../src/cli/main.js';
import { parseListen, parseRunRef } from '../../src/cli/watch.js';
import { apiConfigFromEnv, otlpOptionsFromEnv, parseDuration } from '../../src/config.js';
import { REPO_ROOT } from '../support/cli.js';
import { cliVariables } from '../support/cli-config.js';

const EXAMPLES = join(REPO_ROOT, 'examples');
const MANIFEST = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; engines: { node: string } };
const MIN_NODE_MAJOR = Number(/(\d+)/.exec(MANIFEST.engines.node)?.[1]);
const VARIABLES = cliVariables();

type Json = Record<string, unknown>;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry) ? [path] : [];
  });
}

const documents = yamlFiles(EXAMPLES).map((path) => ({ path, doc: parseYaml(readFileSync(path, 'utf8')) as Json }));
const composeFiles = documents.filter((d) => typeof d.doc['services'] === 'object');
const kubernetesFiles = documents.filter((d) => typeof d.doc['apiVersion'] === 'string' && typeof d.doc['kind'] === 'string');

// ---- an assistants-otel invocation, read as the CLI reads it -------------------------------------------

interface Invocation {
  command: string;
  args: string[];
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  /** The npx package spec, when started with npx. */
  npxSpec?: string;
}

/** The assistants-otel command in a container's command line, if it runs one. */
function invocation(command: readonly string[]): Invocation | undefined {
  const at = command.findIndex((token) => token === 'dist/cli/bin.js' || /^assistants-otel(@[\w.-]+)?$/.test(token));
  if (at < 0) return undefined;
  const [name, ...rest] = command.slice(at + 1);
  const entry = name !== undefined ? COMMANDS[name] : undefined;
  if (!name || !entry) throw new Error(`"${command.join(' ')}": "${name}" is not an assistants-otel command`);
  const args = name === 'runs' || name === 'steps' ? rest.slice(1) : rest;
  // The same parser, flags and errors as the CLI: an unknown flag or a missing value throws here.
  const { values } = parseFlags(name, args, entry.flags, name === 'import');
  const spec = command[at] as string;
  return { command: name, args, values: values as Invocation['values'], ...(spec.startsWith('assistants-otel') ? { npxSpec: spec } : {}) };
}

const DURATION_FLAGS = ['poll-interval', 'max-idle-interval', 'idle-ttl', 'drain-timeout', 'timeout'];

/** Flag values checked with the CLI's own parsers; returns the ports the process listens on. */
function checkValues(run: Invocation): number[] {
  for (const flag of DURATION_FLAGS) {
    const value = run.values[flag];
    if (typeof value === 'string') parseDuration(value, `--${flag}`);
  }
  if (run.command === 'watch') for (const ref of (run.values['run'] as string[] | undefined) ?? []) parseRunRef(ref);
  const ports: number[] = [];
  if (typeof run.values['listen'] === 'string') ports.push(parseListen(run.values['listen']).port);
  if (run.command === 'simulate') ports.push(Number(run.values['port'] ?? 0));
  return ports;
}

/** The variables are ones the CLI reads, and their values pass its configuration. */
function checkEnvironment(env: Record<string, string>, where: string): void {
  const unknown = Object.keys(env).filter((name) => !VARIABLES.has(name));
  expect(unknown, `${where}: variables assistants-otel does not read`).toEqual([]);
  otlpOptionsFromEnv(env);
  apiConfigFromEnv(env);
}

function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
}

// ---- Compose ---------------------------------------------------------------------------------------------

interface Service {
  name: string;
  image: string;
  command: string[];
  environment: Record<string, string>;
  ports: string[];
  volumes: string[];
  dependsOn: string[];
}

/** `${VAR:-default}` as Compose interpolates it with VAR unset. */
function interpolate(value: string): string {
  return value.replace(/\$\{[A-Z_][A-Z0-9_]*(?::?-([^}]*))?\}/g, (_m, fallback: string | undefined) => fallback ?? '');
}

function services(doc: Json): Service[] {
  return Object.entries(doc['services'] as Record<string, Json>).map(([name, s]) => {
    const command = s['command'];
    const environment = (s['environment'] ?? {}) as Record<string, unknown>;
    return {
      name,
      image: String(s['image'] ?? ''),
      command: Array.isArray(command) ? command.map(String) : typeof command === 'string' ? command.split(/\s+/) : [],
      environment: Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, interpolate(String(v ?? ''))])),
      ports: ((s['ports'] ?? []) as unknown[]).map(String),
      volumes: ((s['volumes'] ?? []) as unknown[]).map(String),
      dependsOn: Array.isArray(s['depends_on']) ? (s['depends_on'] as string[]) : Object.keys((s['depends_on'] ?? {}) as Json),
    };
  });
}

/** The file in the repository a container path comes from, through the service's bind mounts. */
function hostPathOf(service: Service, composeDir: string, containerPath: string): string | undefined {
  for (const volume of service.volumes) {
    const [source, target] = volume.split(':') as [string, string | undefined];
    if (!target || !/^[./]/.test(source)) continue;
    if (containerPath === target || containerPath.startsWith(`${target}/`)) return join(resolve(composeDir, source), posix.relative(target, containerPath));
  }
  return undefined;
}

/** Ports a third-party image listens on, read from its configuration where it has one. */
function listeningPorts(service: Service, composeDir: string): number[] {
  const run = invocation(service.command);
  if (run) return checkValues(run);
  const mounted = (containerPath: string): Json | undefined => {
    const host = hostPathOf(service, composeDir, containerPath);
    return host && existsSync(host) ? (parseYaml(readFileSync(host, 'utf8')) as Json) : undefined;
  };
  const endpointsIn = (value: unknown): number[] =>
    JSON.stringify(value ?? {})
      .match(/"endpoint":"[^"]*:(\d+)"/g)
      ?.map((m) => Number(/:(\d+)"$/.exec(m)?.[1])) ?? [];
  if (service.image.startsWith('jaegertracing/all-in-one:')) {
    expect(service.environment['COLLECTOR_OTLP_ENABLED'], `${service.name}: Jaeger's OTLP receiver`).not.toBe('false');
    return [16686, 4317, 4318];
  }
  if (service.image.startsWith('otel/opentelemetry-collector')) {
    const config = mounted('/etc/otelcol-contrib/config.yaml') ?? mounted('/etc/otelcol/config.yaml');
    expect(config, `${service.name}: the collector's configuration is mounted from the repository`).toBeDefined();
    return endpointsIn((config?.['receivers'] as Json | undefined) ?? {});
  }
  if (service.image.startsWith('grafana/tempo:')) {
    const file = service.command.find((c) => c.startsWith('-config.file='))?.slice('-config.file='.length);
    const config = file ? mounted(file) : undefined;
    expect(config, `${service.name}: Tempo's configuration is mounted from the repository`).toBeDefined();
    const server = (config?.['server'] ?? {}) as Json;
    return [Number(server['http_listen_port'] ?? 3200), ...endpointsIn(config?.['distributor'])];
  }
  if (service.image.startsWith('grafana/grafana:')) return [3000];
  throw new Error(`${service.name}: no idea which ports image ${service.image} listens on; teach this test`);
}

function checkImage(image: string, where: string): void {
  expect(image, `${where}: an image`).not.toBe('');
  const tag = image.split('/').pop()?.split(':')[1];
  expect(tag, `${where}: image ${image} has a pinned tag`).toBeDefined();
  expect(tag, `${where}: image ${image} is pinned, not latest`).not.toBe('latest');
  if (image.startsWith('node:')) expect(Number(/^(\d+)/.exec(tag ?? '')?.[1]), `${where}: ${image} is a supported Node (engines ${MANIFEST.engines.node})`).toBeGreaterThanOrEqual(MIN_NODE_MAJOR);
}

describe('the examples hold what the tests below check', () => {
  it('Compose files and a Kubernetes manifest are found', () => {
    expect(composeFiles.map((f) => relative(EXAMPLES, f.path)).sort()).toEqual(['sidecar-jaeger/docker-compose.yml', 'tempo/docker-compose.yml']);
    expect(kubernetesFiles.map((f) => relative(EXAMPLES, f.path))).toContain('kubernetes/sidecar.yaml');
  });

  it('examples/README.md lists every example directory, and every directory it lists exists', () => {
    const index = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');
    const listed = [...index.matchAll(/\[`([\w.-]+)\/`\]\(/g)].map((m) => m[1] as string).sort();
    const dirs = readdirSync(EXAMPLES).filter((e) => statSync(join(EXAMPLES, e)).isDirectory()).sort();
    expect(listed).toEqual(dirs);
    for (const dir of dirs) expect(existsSync(join(EXAMPLES, dir, 'README.md')), `${dir}/README.md`).toBe(true);
  });

  it('every file an example README links to or names exists', () => {
    for (const dir of readdirSync(EXAMPLES).filter((e) => statSync(join(EXAMPLES, e)).isDirectory())) {
      const readme = readFileSync(join(EXAMPLES, dir, 'README.md'), 'utf8');
      for (const m of readme.matchAll(/\]\(([^)#]+)\)/g)) {
        if (/^https?:/.test(m[1] as string)) continue;
        expect(existsSync(resolve(EXAMPLES, dir, m[1] as string)), `${dir}/README.md links to ${m[1]}`).toBe(true);
      }
      for (const m of readme.matchAll(/(?<![\w/])examples\/[\w./-]+/g)) expect(existsSync(join(REPO_ROOT, m[0].replace(/[.]$/, ''))), `${dir}/README.md names ${m[0]}`).toBe(true);
    }
  });
});

describe.each(composeFiles.map((f) => [relative(EXAMPLES, f.path), f] as const))('%s', (_name, file) => {
  const dir = dirname(file.path);
  const all = services(file.doc);
  const byName = new Map(all.map((s) => [s.name, s]));
  const namedVolumes = new Set(Object.keys((file.doc['volumes'] ?? {}) as Json));
  // Read inside the tests, so a wrong flag fails a test (with its message) rather than the file.
  let listening: Map<string, number[]> | undefined;
  const ports = { get: (name: string) => (listening ??= new Map(all.map((s) => [s.name, listeningPorts(s, dir)]))).get(name) };

  /** A URL must point at a service of this file that listens on its port. */
  const expectServed = (url: string, where: string) => {
    const { host, port } = hostPort(url);
    expect(byName.has(host), `${where}: ${url} names service "${host}"`).toBe(true);
    expect(ports.get(host), `${where}: ${url}: does "${host}" listen on ${port}?`).toContain(port);
  };

  it('images are pinned; Node images are a supported version', () => {
    for (const s of all) checkImage(s.image, s.name);
  });

  it('assistants-otel containers: known commands and flags, variables the CLI reads with values it accepts', () => {
    const runs = all.filter((s) => invocation(s.command));
    expect(runs.length).toBeGreaterThan(0);
    for (const s of runs) {
      const run = invocation(s.command) as Invocation;
      checkValues(run);
      checkEnvironment(s.environment, s.name);
      if (run.command === 'watch' && typeof run.values['state'] === 'string') {
        const stateDir = posix.dirname(run.values['state']);
        expect(s.volumes.some((v) => v.split(':')[1] === stateDir), `${s.name}: --state ${run.values['state']} is on a volume`).toBe(true);
      }
      const threadsFile = run.values['threads-file'];
      if (typeof threadsFile === 'string') {
        const host = hostPathOf(s, dir, threadsFile);
        expect(host && existsSync(host), `${s.name}: --threads-file ${threadsFile} comes from the repository`).toBe(true);
      }
      // dist/cli/bin.js comes from the repository mounted at the working directory.
      if (s.command.includes('dist/cli/bin.js')) expect(hostPathOf(s, dir, `${(file.doc['services'] as Record<string, Json>)[s.name]?.['working_dir']}/package.json`), `${s.name}: the repository is mounted`).toBe(join(REPO_ROOT, 'package.json'));
    }
  });

  it('the OTLP endpoint and the API URL point at services listening on those ports', () => {
    for (const s of all.filter((x) => invocation(x.command) && invocation(x.command)?.command !== 'simulate')) {
      expectServed(otlpOptionsFromEnv(s.environment).url, `${s.name} OTLP`);
      const api = s.environment['OPENAI_BASE_URL'];
      if (api) expectServed(api, `${s.name} OPENAI_BASE_URL`);
    }
  });

  it('the collector exports to, and Grafana reads from, a service listening there', () => {
    for (const s of all) {
      for (const volume of s.volumes) {
        const [source, target] = volume.split(':') as [string, string];
        if (!/^[./]/.test(source) || !/\.ya?ml$/.test(source)) continue;
        const config = parseYaml(readFileSync(resolve(dir, source), 'utf8')) as Json;
        if (target.includes('otelcol')) {
          for (const exporter of Object.values((config['exporters'] ?? {}) as Record<string, Json>)) {
            if (typeof exporter['endpoint'] === 'string') expectServed(`http://${String(exporter['endpoint']).replace(/^https?:\/\//, '')}`, `${s.name} exporter`);
          }
          const pipelines = JSON.stringify(((config['service'] as Json | undefined)?.['pipelines'] ?? {}) as Json);
          expect(pipelines, `${s.name}: a traces pipeline`).toContain('traces');
        }
        if (target.includes('grafana/provisioning/datasources')) {
          for (const source of (config['datasources'] ?? []) as Json[]) expectServed(String(source['url']), `${s.name} data source ${String(source['name'])}`);
        }
      }
    }
  });

  it('published ports are ports the service listens on; mounts come from the repository; dependencies exist', () => {
    for (const s of all) {
      for (const mapping of s.ports) {
        const container = Number(mapping.split(':').pop()?.split('/')[0]);
        expect(ports.get(s.name), `${s.name} publishes ${mapping}`).toContain(container);
      }
      for (const volume of s.volumes) {
        const source = volume.split(':')[0] as string;
        if (/^[./]/.test(source)) expect(existsSync(resolve(dir, source)), `${s.name} mounts ${source}`).toBe(true);
        else expect(namedVolumes.has(source), `${s.name} uses volume ${source}, declared at the top`).toBe(true);
      }
      for (const dependency of s.dependsOn) expect(byName.has(dependency), `${s.name} depends on ${dependency}`).toBe(true);
    }
  });
});

// ---- Kubernetes ----------------------------------------------------------------------------------------------

interface Container {
  name: string;
  image: string;
  command: string[];
  env: Record<string, string>;
  readinessProbe?: { httpGet?: { path: string; port: number } };
  livenessProbe?: { httpGet?: { path: string; port: number } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

function podSpec(doc: Json): Json {
  if (doc['kind'] === 'Pod') return doc['spec'] as Json;
  return ((doc['spec'] as Json)['template'] as Json)['spec'] as Json;
}

describe.each(kubernetesFiles.map((f) => [relative(EXAMPLES, f.path), f] as const))('%s', (_name, file) => {
  const spec = podSpec(file.doc);
  const containers = ((spec['containers'] ?? []) as Json[]).map(
    (c): Container => ({
      ...(c as unknown as Container),
      command: [...((c['command'] ?? []) as string[]), ...((c['args'] ?? []) as string[])],
      env: Object.fromEntries(((c['env'] ?? []) as Array<{ name: string; value?: string }>).map((e) => [e.name, String(e.value ?? '')])),
    }),
  );
  const sidecars = containers.filter((c) => invocation(c.command));
  const volumes = new Set(((spec['volumes'] ?? []) as Array<{ name: string }>).map((v) => v.name));

  it('images are pinned; Node images are a supported version', () => {
    for (const c of containers) checkImage(c.image, c.name);
  });

  it('the sidecar: a known command and flags, the package version this repository is, variables the CLI reads', () => {
    expect(sidecars.length).toBeGreaterThan(0);
    for (const c of sidecars) {
      const run = invocation(c.command) as Invocation;
      checkValues(run);
      checkEnvironment(c.env, c.name);
      if (run.npxSpec) expect(run.npxSpec, `${c.name}: npx pins the version`).toBe(`assistants-otel@${MANIFEST.version}`);
    }
  });

  it('probes are on the port the sidecar listens on, at its health endpoint', () => {
    for (const c of sidecars) {
      const listening = checkValues(invocation(c.command) as Invocation);
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        if (!probe?.httpGet) continue;
        expect(listening, `${c.name}: probe port`).toContain(probe.httpGet.port);
        expect(['/healthz', '/metrics']).toContain(probe.httpGet.path);
      }
      expect(c.readinessProbe?.httpGet, `${c.name}: a readiness probe`).toBeDefined();
    }
  });

  it('state and token files are on mounted volumes; the grace period covers the drain', () => {
    for (const c of sidecars) {
      const run = invocation(c.command) as Invocation;
      const mounts = c.volumeMounts ?? [];
      for (const mount of mounts) expect(volumes.has(mount.name), `${c.name} mounts ${mount.name}`).toBe(true);
      const onVolume = (path: string) => mounts.some((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
      if (typeof run.values['state'] === 'string') expect(onVolume(run.values['state']), `--state ${run.values['state']}`).toBe(true);
      for (const path of (c.env['ASSISTANTS_OTEL_TOKEN_COMMAND'] ?? '').match(/(?<=\s|^)\/\S+/g) ?? []) expect(onVolume(path), `token file ${path}`).toBe(true);
      const drain = parseDuration(typeof run.values['drain-timeout'] === 'string' ? run.values['drain-timeout'] : '20s', '--drain-timeout') / 1000;
      expect(Number(spec['terminationGracePeriodSeconds'] ?? 30), 'terminationGracePeriodSeconds').toBeGreaterThan(drain);
    }
  });

  it('the other containers reach the sidecar on the port it listens on', () => {
    const listening = sidecars.flatMap((c) => checkValues(invocation(c.command) as Invocation));
    for (const c of containers.filter((x) => !sidecars.includes(x))) {
      for (const [name, value] of Object.entries(c.env)) {
        if (!/^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(value)) continue;
        expect(listening, `${c.name} ${name}=${value}`).toContain(hostPort(value).port);
      }
    }
  });
});

// ---- Azure Foundry ------------------------------------------------------------------------------------------

describe('azure-foundry/foundry.env', () => {
  const text = readFileSync(join(EXAMPLES, 'azure-foundry', 'foundry.env'), 'utf8');
  const env = Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

  it('sets only variables the CLI reads, and they make the azure-foundry profile', () => {
    checkEnvironment(env, 'foundry.env');
    const { provider } = apiConfigFromEnv(env);
    expect(provider).toMatchObject({
      kind: 'azure-foundry',
      providerName: 'azure.ai.agents',
      baseUrl: env['AZURE_AI_PROJECT_ENDPOINT'],
      query: { 'api-version': env['AZURE_AI_AGENTS_API_VERSION'] },
    });
    expect(provider.credentials.hint).toContain('ASSISTANTS_OTEL_TOKEN_COMMAND');
  });
});
