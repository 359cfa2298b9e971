/**
 * Finer times from observations (src/mapping/refine.ts): consistent with the API's seconds whatever
 * the two clocks do, and nothing but the times changes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clockOffset, refineSpanTimes, type ObservedTimes } from '../../../src/mapping/refine.js';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import type { HrTime, SpanData } from '../../../src/mapping/types.js';
import { codeInterpreterCall, functionCall, IDS, run, step, T0, toolCallsStep, validRun, validStep } from '../../fixtures/records.js';

const ms = (time: HrTime) => time[0] * 1000 + time[1] / 1e6;
const S = T0 * 1000;

/** Run T0..T0+10 (started T0+1), a tool_calls step T0+1..T0+2 (a function and a code interpreter call), a message step T0+2..T0+4. */
function spans(): SpanData[] {
  return mapRunToSpans({
    runId: IDS.run,
    run: validRun(run()),
    steps: [
      validStep(toolCallsStep([functionCall(), codeInterpreterCall()])),
      validStep(step({ id: 'step_msg', created_at: T0 + 2, completed_at: T0 + 4 })),
    ],
  });
}

const bySubject = (all: SpanData[], kind: string, id?: string) =>
  all.find((s) => s.subject.kind === kind && (id === undefined || (s.subject.kind === 'step' && s.subject.stepId === id) || (s.subject.kind === 'tool_call' && s.subject.toolCallKey === id))) as SpanData;

/** What a client with `skew` ms of clock error saw: each bound at `fraction` of a second after the API's second. */
function observedWith(skew: number): ObservedTimes {
  return {
    run: { start: S + 120 + skew, started: S + 1000 + 300 + skew, end: S + 10_000 + 50 + skew },
    steps: new Map([
      ['step_tools1', { start: S + 1000 + 400 + skew, end: S + 2000 + 250 + skew }],
      ['step_msg', { start: S + 2000 + 260 + skew, end: S + 4000 + 900 + skew }],
    ]),
    toolOutputsSubmitted: new Map([['call_fn1', S + 2000 + 200 + skew]]),
  };
}

describe('refineSpanTimes', () => {
  it('changes nothing without observations', () => {
    expect(refineSpanTimes(spans(), {})).toEqual(spans());
  });

  it('uses the observed milliseconds as they are when the clocks agree', () => {
    const out = refineSpanTimes(spans(), observedWith(0));
    const runSpan = bySubject(out, 'run');
    expect([ms(runSpan.startTime), ms(runSpan.endTime)]).toEqual([S + 120, S + 10_050]);
    expect(runSpan.events.map((e) => ms(e.time))).toEqual([S + 1300]);
    const tools = bySubject(out, 'step', 'step_tools1');
    expect([ms(tools.startTime), ms(tools.endTime)]).toEqual([S + 1400, S + 2250]);
    // A function call ends when its outputs were submitted; any other call spans its step.
    const fn = bySubject(out, 'tool_call', 'id:call_fn1');
    expect([ms(fn.startTime), ms(fn.endTime)]).toEqual([S + 1400, S + 2200]);
    const ci = bySubject(out, 'tool_call', 'id:call_ci1');
    expect([ms(ci.startTime), ms(ci.endTime)]).toEqual([S + 1400, S + 2250]);
  });

  it('corrects a skewed clock with one offset, keeping the observed durations', () => {
    const relative = (all: SpanData[]) => {
      const origin = ms((all[0] as SpanData).startTime);
      return all.map((s) => [ms(s.startTime) - origin, ms(s.endTime) - origin]);
    };
    const skewed = refineSpanTimes(spans(), observedWith(5 * 3600_000 + 17));
    expect(relative(skewed)).toEqual(relative(refineSpanTimes(spans(), observedWith(0))));
    skewed.forEach((span, i) => expect(Math.floor(ms(span.startTime) / 1000)).toBe((spans()[i] as SpanData).startTime[0]));
  });

  it('changes only times: ids, names, attributes, status and order are those of the records', () => {
    const strip = (all: SpanData[]) => all.map(({ startTime: _s, endTime: _e, events, ...rest }) => ({ ...rest, events: events.map((e) => e.name) }));
    expect(strip(refineSpanTimes(spans(), observedWith(123)))).toEqual(strip(spans()));
  });

  it('clamps into the API second when the observations fit no single offset (a simulated clock)', () => {
    // Everything seen within 5 ms of wall time while the API's clock moved ten seconds.
    const burst: ObservedTimes = {
      run: { start: 1000, started: 1001, end: 1005 },
      steps: new Map([['step_tools1', { start: 1002, end: 1003 }], ['step_msg', { start: 1003, end: 1004 }]]),
    };
    const out = refineSpanTimes(spans(), burst);
    for (const [refined, original] of out.map((s, i) => [s, spans()[i] as SpanData] as const)) {
      expect(Math.floor(ms(refined.startTime) / 1000)).toBe(original.startTime[0]);
      expect(Math.floor(ms(refined.endTime) / 1000)).toBe(original.endTime[0]);
      expect(ms(refined.endTime)).toBeGreaterThanOrEqual(ms(refined.startTime));
    }
  });

  it('never lets an unobserved end fall before an observed start in the same second', () => {
    const sameSecond = mapRunToSpans({ runId: IDS.run, run: validRun(run({ created_at: T0, started_at: T0, completed_at: T0 })), steps: [] });
    const [runSpan] = refineSpanTimes(sameSecond, { run: { start: S + 700 } });
    expect([ms(runSpan!.startTime), ms(runSpan!.endTime)]).toEqual([S + 700, S + 700]);
  });

  it('starts an unobserved child no earlier than its refined parent within the same second', () => {
    const out = refineSpanTimes(spans(), { run: { start: S + 1000 + 600 } });
    // The run was created at T0 but seen in second T0+1? Clamped to T0+0.999; its first step (T0+1) is untouched.
    const runSpan = bySubject(out, 'run');
    expect(ms(runSpan.startTime)).toBe(S + 999);
    const sameSecond = refineSpanTimes(spans(), { run: { start: S + 600 } });
    expect(ms(bySubject(sameSecond, 'run').startTime)).toBe(S + 600);
    expect(ms(bySubject(sameSecond, 'step', 'step_tools1').startTime)).toBe(S + 1000);
  });

  it('never moves a time the API already gave more finely than a second', () => {
    const fine = mapRunToSpans({ runId: IDS.run, run: validRun(run({ created_at: T0 + 0.25, completed_at: T0 + 3.5, started_at: T0 + 1 })), steps: [] });
    const [runSpan] = refineSpanTimes(fine, { run: { start: S + 900, end: S + 3900 } });
    expect([ms(runSpan!.startTime), ms(runSpan!.endTime)]).toEqual([S + 250, S + 3500]);
  });

  it('always agrees with the API seconds and never ends a span before it starts (any observations)', () => {
    const observation = fc.option(fc.integer({ min: S - 50_000, max: S + 50_000 }), { nil: undefined });
    fc.assert(
      fc.property(observation, observation, observation, observation, observation, observation, (a, b, c, d, e, f) => {
        const observed: ObservedTimes = {
          run: { start: a, end: b },
          steps: new Map([['step_tools1', { start: c, end: d }], ['step_msg', { start: e }]]),
          toolOutputsSubmitted: new Map(f === undefined ? [] : [['call_fn1', f]]),
        };
        const original = spans();
        refineSpanTimes(original, observed).forEach((span, i) => {
          const api = original[i] as SpanData;
          expect(Math.floor(ms(span.startTime) / 1000)).toBe(api.startTime[0]);
          expect(Math.floor(ms(span.endTime) / 1000)).toBe(api.endTime[0]);
          expect(ms(span.endTime)).toBeGreaterThanOrEqual(ms(span.startTime));
        });
      }),
    );
  });
});

describe('clockOffset', () => {
  it('is zero without anchors, or when zero fits', () => {
    expect(clockOffset([])).toBe(0);
    expect(clockOffset([{ api: 1000, width: 1000, observed: 1500 }])).toBe(0);
  });
  it('is the smallest correction that fits every anchor', () => {
    expect(clockOffset([{ api: 10_000, width: 1000, observed: 2_000 }, { api: 11_000, width: 1000, observed: 3_500 }])).toBe(8_000);
  });
  it('is pinned by an exact anchor', () => {
    expect(clockOffset([{ api: 10_250, width: 0, observed: 250 }])).toBe(10_000);
  });
});
