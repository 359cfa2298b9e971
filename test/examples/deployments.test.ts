/**
 * The deployment examples agree with the CLI. Every Compose and Kubernetes file under examples/ is
 * parsed, and each container that runs assistants-otel is checked with the CLI's own parsers: its
 * command and flags (the command registry), its environment variables (the variables the code
 * reads) and their values (the configuration functions), the ports it listens on and is probed on.
 * Across services, every URL (the OTLP endpoint, the API, a data source) must point at a service
 * that listens on that port, every published port at one the service listens on, every mounted
 * file at a file in the repository.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseTokenOutput } from '../../src/api/credentials.js';
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
  /** The package spec, when started with npx (or npm exec). */
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
  return { command: name, args, values: values as Invocation['values'], ...(command.slice(0, at).some((t) => t === 'npx' || t === 'exec') ? { npxSpec: spec } : {}) };
}

/** The host `--listen` binds, when the invocation listens. */
function listenHost(run: Invocation): string | undefined {
  return typeof run.values['listen'] === 'string' ? parseListen(run.values['listen']).host : undefined;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

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
      // Listening beyond loopback and published beyond this host's loopback: /v1/* must need a token.
      const host = listenHost(run);
      if (host !== undefined && !isLoopback(host)) {
        const wide = s.ports.filter((mapping) => !mapping.startsWith('127.0.0.1:'));
        if (wide.length > 0) expect(s.environment['ASSISTANTS_OTEL_LISTEN_TOKEN'], `${s.name}: --listen ${String(run.values['listen'])} published as ${wide.join(', ')} without ASSISTANTS_OTEL_LISTEN_TOKEN`).toBeTruthy();
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
      // A value from a Secret is set, though its value is not in the file.
      env: Object.fromEntries(((c['env'] ?? []) as Array<{ name: string; value?: string; valueFrom?: Json }>).map((e) => [e.name, e.value !== undefined ? String(e.value) : e.valueFrom ? '<from a secret>' : ''])),
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
      // Not published on npm yet (README "Set-up"): npx would fetch whatever holds the name.
      expect(run.npxSpec, `${c.name}: runs npx ${run.npxSpec ?? ''}, but the package is not on npm; build an image`).toBeUndefined();
    }
  });

  it('the sidecar image is built by the example\'s Dockerfile, from this version\'s npm pack tarball, with the files the container uses', () => {
    const dockerfilePath = join(dirname(file.path), 'Dockerfile');
    for (const c of sidecars) {
      if (c.image.startsWith('node:')) continue;
      expect(existsSync(dockerfilePath), `${c.name}: image ${c.image} is built by a Dockerfile next to ${relative(EXAMPLES, file.path)}`).toBe(true);
      const dockerfile = readFileSync(dockerfilePath, 'utf8');
      expect(dockerfile, 'the Dockerfile says how to build the image, with this tag').toContain(`-t ${c.image} `);
      const from = /^FROM\s+(\S+)/m.exec(dockerfile)?.[1] ?? '';
      checkImage(from, `${relative(EXAMPLES, dockerfilePath)} FROM`);
      expect(dockerfile, 'installs the tarball npm pack makes of this version').toContain(`npm i -g /tmp/assistants-otel-${MANIFEST.version}.tgz`);
      const copied = [...dockerfile.matchAll(/^COPY\s+(\S+)\s+(\S+)/gm)].map((m) => ({ source: m[1] as string, target: m[2] as string }));
      for (const { source } of copied) {
        if (!source.endsWith('.tgz')) expect(existsSync(join(REPO_ROOT, source)), `the Dockerfile copies ${source} from the repository root`).toBe(true);
      }
      const mounts = c.volumeMounts ?? [];
      for (const path of (c.env['ASSISTANTS_OTEL_TOKEN_COMMAND'] ?? '').match(/(?<=\s|^)\/\S+/g) ?? []) {
        const inImage = copied.some((x) => x.target === path);
        const onVolume = mounts.some((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
        expect(inImage || onVolume, `token command file ${path}: copied into the image or on a mounted volume`).toBe(true);
      }
    }
  });

  it('probes are on the port the sidecar listens on, at its health endpoint', () => {
    for (const c of sidecars) {
      const listening = checkValues(invocation(c.command) as Invocation);
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        if (!probe?.httpGet) continue;
        expect(listening, `${c.name}: probe port`).toContain(probe.httpGet.port);
        // The kubelet probes the pod's IP (unless the probe names a host): loopback would never answer.
        const host = listenHost(invocation(c.command) as Invocation) ?? '';
        if (!(probe.httpGet as { host?: string }).host) expect(isLoopback(host), `${c.name}: probed on the pod IP, but --listen binds ${host}`).toBe(false);
        expect(['/healthz', '/metrics']).toContain(probe.httpGet.path);
      }
      expect(c.readinessProbe?.httpGet, `${c.name}: a readiness probe`).toBeDefined();
    }
  });

  it('a sidecar listening beyond loopback requires the listen token', () => {
    for (const c of sidecars) {
      const host = listenHost(invocation(c.command) as Invocation);
      if (host !== undefined && !isLoopback(host)) expect(c.env['ASSISTANTS_OTEL_LISTEN_TOKEN'], `${c.name}: --listen ${host} without ASSISTANTS_OTEL_LISTEN_TOKEN`).toBeTruthy();
    }
  });

  it('state and token files are on mounted volumes; the grace period covers the drain', () => {
    for (const c of sidecars) {
      const run = invocation(c.command) as Invocation;
      const mounts = c.volumeMounts ?? [];
      for (const mount of mounts) expect(volumes.has(mount.name), `${c.name} mounts ${mount.name}`).toBe(true);
      const onVolume = (path: string) => mounts.some((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
      if (typeof run.values['state'] === 'string') expect(onVolume(run.values['state']), `--state ${run.values['state']}`).toBe(true);
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
  const path = join(EXAMPLES, 'azure-foundry', 'foundry.env');
  const names = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.slice(0, line.indexOf('=')));

  /** The variables as `set -a; . ./foundry.env; set +a` leaves them, in a real shell. */
  function sourced(): Record<string, string> {
    const script = `set -e; set -a; . "$1"; set +a; for n in ${names.join(' ')}; do printf '%s=%s\\0' "$n" "$(printenv "$n")"; done`;
    const out = execFileSync('/bin/sh', ['-c', script, 'sh', path], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    return Object.fromEntries(out.split('\0').filter((x) => x !== '').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  }

  it('sources in a POSIX shell as the README says, every value whole', () => {
    const env = sourced();
    expect(Object.keys(env).sort()).toEqual([...names].sort());
    expect(env['ASSISTANTS_OTEL_TOKEN_COMMAND']).toBe('az account get-access-token --resource https://ai.azure.com -o json');
    for (const [name, value] of Object.entries(env)) expect(value, name).not.toMatch(/^["']|["']$/);
  });

  it('sets only variables the CLI reads, and they make the azure-foundry profile', () => {
    const env = sourced();
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

// ---- kubernetes/entra-token.mjs: the workload identity token exchange --------------------------------

describe('kubernetes/entra-token.mjs', () => {
  const script = join(EXAMPLES, 'kubernetes', 'entra-token.mjs');

  /** A stand-in for Entra's token endpoint on loopback: records each request, answers as told. */
  async function withAuthority(answer: { status: number; body: unknown }, run: (authority: string, dir: string, seen: Array<{ url: string; form: URLSearchParams }>) => Promise<void>) {
    const seen: Array<{ url: string; form: URLSearchParams }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: `${req.method} ${req.url} ${req.headers['content-type']}`, form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'entra-token-'));
    try {
      await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, dir, seen);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  function runScript(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(process.execPath, [script], { env: { PATH: process.env['PATH'] ?? '', ...env } }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
      child.stdin?.end();
    });
  }

  it('exchanges the federated token for an access token for https://ai.azure.com, printed as the CLI reads it', async () => {
    const answer = { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: 'eyJ.entra-access-token.sig' };
    await withAuthority({ status: 200, body: answer }, async (authority, dir, seen) => {
      writeFileSync(join(dir, 'token'), 'eyJ.kubernetes-sa-token.sig\n');
      const result = await runScript({ AZURE_TENANT_ID: 'tenant-1', AZURE_CLIENT_ID: 'client-1', AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'), AZURE_AUTHORITY_HOST: authority });
      expect(result, result.stderr).toMatchObject({ code: 0 });
      expect(seen.map((r) => r.url)).toEqual(['POST /tenant-1/oauth2/v2.0/token application/x-www-form-urlencoded']);
      expect(Object.fromEntries(seen[0]?.form ?? [])).toEqual({
        grant_type: 'client_credentials',
        client_id: 'client-1',
        scope: 'https://ai.azure.com/.default',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: 'eyJ.kubernetes-sa-token.sig',
      });
      // What the CLI's token command reader takes from it: the token and its expiry.
      expect(JSON.parse(result.stdout)).toEqual(answer);
      expect(parseTokenOutput(result.stdout, 1_000_000)).toEqual({ token: 'eyJ.entra-access-token.sig', expiresAtMillis: 1_000_000 + 3_599_000 });
    });
  });

  it('a refused exchange: exit 1 with Entra\'s reason, nothing on stdout, the assertion never shown', async () => {
    const refusal = { error: 'invalid_client', error_description: 'AADSTS700213: No matching federated identity record found.\r\nTrace ID: x' };
    await withAuthority({ status: 400, body: refusal }, async (authority, dir) => {
      writeFileSync(join(dir, 'token'), 'eyJ.secret-sa-token.sig');
      const result = await runScript({ AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'), AZURE_AUTHORITY_HOST: authority });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe('entra-token: token exchange refused (HTTP 400) invalid_client: AADSTS700213: No matching federated identity record found.\n');
      expect(result.stderr).not.toContain('secret-sa-token');
    });
  });

  it('without the workload identity variables: exit 1 naming the missing one', async () => {
    const result = await runScript({ AZURE_TENANT_ID: 't' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^entra-token: AZURE_CLIENT_ID is not set/);
  });
});
