// The simulator of the library scenario, in a process of its own (so its work is not counted as the
// application's): prints {"url"} once listening; answers "count" on stdin with {"requests": N}.
// Usage: node library-sim-child.mjs <real ms per scenario second>
import { createInterface } from 'node:readline';
import { createSimulator } from '../../dist/simulator/index.js';

const sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: Number(process.argv[2] ?? 1000), runScript: 'message' });
process.stdout.write(`${JSON.stringify({ url: sim.url })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'count') process.stdout.write(`${JSON.stringify({ requests: sim.requests.length })}\n`);
}
await sim.close();
process.exit(0);
