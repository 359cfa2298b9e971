/**
 * A fleet member's settings (`watch --state postgres://…`): the lease length and the member id,
 * from flags or the environment (flags win). Both need a PostgreSQL state: a state file or memory
 * has one sidecar and no leases, so giving them there is an error rather than silently ignored.
 */
import { ConfigError, firstSet, parseDuration, type Env } from './parse.js';

export interface FleetFlags {
  /** `--lease` */
  lease?: string | undefined;
  /** `--member-id` */
  memberId?: string | undefined;
}

export interface FleetConfig {
  leaseMillis: number;
  /** Undefined: the store's default, `<hostname>-<pid>-<6 hex>`. */
  memberId?: string;
}

export const DEFAULT_LEASE_MILLIS = 30_000;
/** Shorter, and a lease round (a few database round trips) may not fit in a third of it. */
const MIN_LEASE_MILLIS = 500;
const MAX_LEASE_MILLIS = 3_600_000;
/** Shown as the owner in `GET /v1/watch`, a metric label and the database's application_name: kept plain. */
const MEMBER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,199}$/;

function flagOrEnv(flag: string | undefined, flagName: string, env: Env, variable: string): { name: string; value: string } | undefined {
  return flag !== undefined ? { name: flagName, value: flag } : firstSet(env, variable);
}

/**
 * `--lease` / `ASSISTANTS_OTEL_LEASE` (default 30s, between 500ms and 1h) and `--member-id` /
 * `ASSISTANTS_OTEL_MEMBER_ID`; `postgres` says whether the state is a PostgreSQL URL.
 */
export function fleetConfigFromEnv(env: Env, flags: FleetFlags, postgres: boolean): FleetConfig {
  const lease = flagOrEnv(flags.lease, '--lease', env, 'ASSISTANTS_OTEL_LEASE');
  const member = flagOrEnv(flags.memberId, '--member-id', env, 'ASSISTANTS_OTEL_MEMBER_ID');
  if (!postgres) {
    // A variable may be set fleet-wide (a shared deployment template): only a flag is an error.
    const given = [flags.lease !== undefined ? '--lease' : undefined, flags.memberId !== undefined ? '--member-id' : undefined].filter(Boolean);
    if (given.length > 0) throw new ConfigError(given[0] as string, 'only for a fleet: needs --state postgres://… (or ASSISTANTS_OTEL_STATE_URL); a state file or --memory-state has one sidecar and no leases');
    return { leaseMillis: DEFAULT_LEASE_MILLIS };
  }
  const leaseMillis = lease ? parseDuration(lease.value, lease.name) : DEFAULT_LEASE_MILLIS;
  if (lease && (leaseMillis < MIN_LEASE_MILLIS || leaseMillis > MAX_LEASE_MILLIS)) {
    throw new ConfigError(lease.name, `between 500ms and 1h (a dead member's threads wait up to one lease; renewals run every third of it), got "${lease.value}"`);
  }
  if (member && !MEMBER_ID.test(member.value)) {
    throw new ConfigError(member.name, `1–200 characters, letters, digits and _ . : @ - (starting with a letter or digit), unique among running members, got ${JSON.stringify(member.value)}`);
  }
  return { leaseMillis, ...(member ? { memberId: member.value } : {}) };
}
