// The import benchmark's baseline: read a JSONL file line by line and JSON.parse each line, nothing
// else. What any import must at least do; its time and peak RSS are the floor the CLI is held to.
// Usage: node parse-floor-child.mjs FILE
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

let lines = 0;
for await (const line of createInterface({ input: createReadStream(process.argv[2], { encoding: 'utf8' }), crlfDelay: Infinity })) {
  if (line.trim() === '') continue;
  JSON.parse(line);
  lines++;
}
process.stdout.write(`${lines} lines\n`);
