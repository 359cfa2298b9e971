/**
 * The lease keeper's ears: a connection of its own that LISTENs on `LEASE_CHANNEL`, so a member
 * rebalances as soon as another joins, leaves or releases, or a registration adds work, instead of
 * at its next renewal. Best effort: rounds still come every renewal interval without it. A broken
 * connection (a database restart) is replaced with backoff; once listening again, `onNotice` is
 * called once for whatever was missed meanwhile.
 */
import pg from 'pg';
import { backoffDelay, type BackoffPolicy } from '../util/backoff.js';
import { LEASE_CHANNEL } from './postgres-lease-sql.js';
import type { SqlContext } from './postgres-ops.js';

export interface LeaseNotificationsOptions {
  config: pg.ClientConfig;
  ctx: SqlContext;
  backoff: BackoffPolicy;
  /** Another member (or a registration) changed something: a round is due. */
  onNotice: () => void;
}

export class LeaseNotifications {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  /** True once LISTEN succeeded on the current connection. */
  listening = false;

  constructor(private readonly options: LeaseNotificationsOptions) {}

  start(): void {
    if (this.client || this.stopped) return;
    clearTimeout(this.timer);
    const client = new pg.Client(this.options.config);
    this.client = client;
    const prefix = `${this.options.ctx.schemaName}:`;
    const self = `${prefix}${this.options.ctx.memberId}`;
    client.on('notification', (message) => {
      if (message.channel === LEASE_CHANNEL && message.payload?.startsWith(prefix) && message.payload !== self) this.options.onNotice();
    });
    const broke = () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.listening = false;
      client.end().catch(() => {});
      if (this.stopped) return;
      this.failures++;
      this.timer = setTimeout(() => this.start(), backoffDelay(this.options.backoff, this.failures));
      this.timer.unref();
    };
    client.on('error', broke);
    client.on('end', broke);
    client
      .connect()
      .then(() => client.query(`LISTEN ${LEASE_CHANNEL}`))
      .then(() => {
        if (this.client !== client) return;
        this.failures = 0;
        this.listening = true;
        this.options.onNotice();
      })
      .catch(broke);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    this.listening = false;
    client?.end().catch(() => {});
  }
}
