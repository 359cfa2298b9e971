// Fault rules: which request they hit (in arrival order, deterministically) and what they inject.
import { faultRuleSchema, type FaultRule, type FaultRuleInput } from './fault-rules.js';
import { LIST_OPERATIONS, type OperationId } from './operations.js';
import { formatPath } from './scenario.js';

export interface FaultTarget {
  method: string;
  /** Path without the prefix and the query. */
  path: string;
  operation: OperationId | null;
  scenarioSeconds: number;
}

export interface FaultStatus {
  readonly id: number;
  readonly rule: FaultRule;
  /** Matching requests seen (including those let through by `after`). */
  readonly seen: number;
  readonly fired: number;
}

export interface FaultHandle {
  readonly id: number;
  /** Times this fault has fired so far. */
  readonly fired: number;
  remove(): void;
}

/** `sim.faults`: add rules at any time; the first rule (in the order added) that fires decides. */
export interface FaultController {
  add(rule: FaultRuleInput): FaultHandle;
  clear(): void;
  list(): readonly FaultStatus[];
}

interface Entry {
  id: number;
  rule: FaultRule;
  regex: RegExp | null;
  seen: number;
  fired: number;
}

function matches(entry: Entry, target: FaultTarget): boolean {
  const m = entry.rule.match;
  if (m.method !== undefined && m.method.toUpperCase() !== target.method.toUpperCase()) return false;
  if (typeof m.path === 'string' && m.path !== target.path) return false;
  if (m.path instanceof RegExp && !m.path.test(target.path)) return false;
  if (entry.regex !== null && !entry.regex.test(target.path)) return false;
  if (m.operation !== undefined && m.operation !== target.operation) return false;
  if (m.fromSecond !== undefined && target.scenarioSeconds < m.fromSecond) return false;
  if (m.untilSecond !== undefined && target.scenarioSeconds >= m.untilSecond) return false;
  // Records can only be injected where there is a list to put them in.
  if (entry.rule.kind === 'inject-record' && (target.operation === null || !LIST_OPERATIONS.includes(target.operation))) return false;
  return true;
}

export class FaultBook implements FaultController {
  private entries: Entry[] = [];
  private nextId = 1;

  add(input: FaultRuleInput): FaultHandle {
    const parsed = faultRuleSchema.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
      throw new TypeError(`invalid fault rule: ${problems.join('; ')}`);
    }
    const rule = parsed.data;
    const entry: Entry = { id: this.nextId++, rule, regex: rule.match.pathRegex === undefined ? null : new RegExp(rule.match.pathRegex), seen: 0, fired: 0 };
    this.entries.push(entry);
    return {
      id: entry.id,
      get fired() {
        return entry.fired;
      },
      remove: () => {
        this.entries = this.entries.filter((e) => e !== entry);
      },
    };
  }

  clear(): void {
    this.entries = [];
  }

  list(): readonly FaultStatus[] {
    return this.entries.map((e) => ({ id: e.id, rule: e.rule, seen: e.seen, fired: e.fired }));
  }

  /** Called once per request, in arrival order: counts matches and returns the rule that fires, if any. */
  pick(target: FaultTarget): FaultRule | null {
    let chosen: FaultRule | null = null;
    for (const entry of this.entries) {
      if (!matches(entry, target)) continue;
      entry.seen += 1;
      if (chosen !== null || entry.seen <= entry.rule.match.after) continue;
      if (entry.rule.match.times !== undefined && entry.fired >= entry.rule.match.times) continue;
      entry.fired += 1;
      chosen = entry.rule;
    }
    return chosen;
  }
}

function withoutKey(record: Record<string, unknown>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
}

/** The record an `inject-record` fault puts into a page. Presets are step-shaped; use `{value}` for anything else. */
export function injectedRecord(rule: Extract<FaultRule, { kind: 'inject-record' }>, ids: { threadId: string; runId: string; epochNow: number }): unknown {
  if (typeof rule.record === 'object') return structuredClone(rule.record.value);
  const base = {
    id: `step_injected_${rule.record.replace(/-/g, '_')}`,
    object: 'thread.run.step',
    created_at: ids.epochNow,
    run_id: ids.runId,
    assistant_id: 'asst_injected',
    thread_id: ids.threadId,
    type: 'message_creation',
    status: 'completed',
    cancelled_at: null,
    completed_at: ids.epochNow,
    expired_at: null,
    failed_at: null,
    last_error: null,
    step_details: { type: 'message_creation', message_creation: { message_id: 'msg_injected' } } as Record<string, unknown>,
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    metadata: {},
  };
  switch (rule.record) {
    case 'step-missing-created-at':
      // No end timestamp either: no time of its own at all (a client places it by its run).
      return { ...withoutKey(base, 'created_at'), completed_at: null };
    case 'step-missing-run-id':
      // Nothing says which run (which trace) it belongs to: it cannot be placed.
      return withoutKey(base, 'run_id');
    case 'unknown-step-type':
      return { ...base, type: 'activities', step_details: { type: 'activities', activities: [{ id: 'act_injected', type: 'mcp_call' }] } };
    case 'unknown-tool-call-type':
      return { ...base, type: 'tool_calls', step_details: { type: 'tool_calls', tool_calls: [{ id: 'call_injected', type: 'bing_grounding', bing_grounding: {} }] } };
    case 'not-an-object':
      return 'this record is not an object';
  }
}
