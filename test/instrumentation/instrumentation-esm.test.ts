/**
 * `AssistantsInstrumentation` in an ESM application: with import-in-the-middle's loader hook
 * registered first (`node --import`), the `openai` imported afterwards is patched and its runs
 * traced. Runs the built package in a child process with plain `node`.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';
import { ensureBuilt, runNode } from './built.js';

const FIXTURES = join(REPO_ROOT, 'test', 'instrumentation', 'fixtures');

describe('AssistantsInstrumentation (ESM)', () => {
  beforeAll(ensureBuilt, 120_000);

  it('patches `openai` imported after registration, through the loader hook', async () => {
    const result = await runNode(['--import', join(FIXTURES, 'register-esm-hook.mjs'), join(FIXTURES, 'esm-app.mjs')]);
    expect(result.code, result.stderr).toBe(0);
    const seen = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { wrapped: boolean; status: string; metadata: Record<string, string>; spans: string[] };
    expect(seen).toEqual({ wrapped: true, status: 'completed', metadata: { assistants_otel: 'library' }, spans: ['invoke_agent asst_esm', 'step message_creation'] });
  });
});
