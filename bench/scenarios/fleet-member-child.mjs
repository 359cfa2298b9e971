// One fleet member in a process of its own, for fleet-leases.mjs: loads and joins the PostgreSQL
// store, and reports the leases it holds over IPC after every change, until killed.
import { createPostgresStateStore } from '../../dist/state/postgres-store.js';

const [url, schema, memberId, leaseMillis] = process.argv.slice(2);
const store = createPostgresStateStore({ url, schema, memberId, leaseMillis: Number(leaseMillis) });
await store.load();
const report = () => process.send({ type: 'held', member: memberId, keys: store.heldKeys() });
await store.join({ onGained: report, onLost: report });
report();
process.on('message', async (message) => {
  if (message.type === 'leave') {
    await store.close();
    process.send({ type: 'left' });
  }
});
