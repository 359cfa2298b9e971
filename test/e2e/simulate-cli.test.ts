/**
 * `assistants-otel simulate` refuses what it cannot start with exit 2 and the flag at fault (README
 * "Exit status": usage, configuration and start-up failures are 2), and its --help shows the exit codes.
 */
import { createServer } from 'node:net';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('simulate: start-up refusals', () => {
  it('a scenario file that does not load: exit 2, the file and the field named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simulate-cli-'));
    try {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify({ threads: [{ runs: [{ template: 'no-such-template' }] }] }));
      const result = await runCli(['simulate', '--scenario', file]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`assistants-otel --scenario ${file}: `);
      expect(result.stderr).toContain('no-such-template');
      const broken = join(dir, 'broken.json');
      writeFileSync(broken, '{"threads": [');
      const unparsable = await runCli(['simulate', '--scenario', broken]);
      expect(unparsable.code, unparsable.stderr).toBe(2);
      expect(unparsable.stderr).toContain(`assistants-otel --scenario: invalid scenario ${broken}:\n  not valid JSON: `);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a port in use: exit 2, naming --port', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const result = await runCli(['simulate', '--port', String(port)]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`assistants-otel --port/--host: cannot listen on 127.0.0.1:${port}: the port is in use`);
    } finally {
      busy.close();
    }
  });

  it('--help of watch and simulate show their exit codes', async () => {
    for (const command of ['watch', 'simulate']) {
      const help = await runCli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout, command).toMatch(/Exit status:[\s\S]*\b2\b,? .*usage/);
    }
  });
});
