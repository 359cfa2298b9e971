/**
 * The `--dry-run` view: spans as a tree per trace, as a trace UI would show them.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { SpanData } from '../mapping/types.js';
import { formatDuration, isoFromHrTime } from './format.js';

function kindName(kind: SpanKind): string {
  return SpanKind[kind] ?? String(kind);
}

function statusText(span: SpanData): string {
  if (span.status.code === SpanStatusCode.ERROR) {
    const type = span.attributes['error.type'];
    return `ERROR${type ? ` ${String(type)}` : ''}${span.status.message ? `: ${span.status.message}` : ''}`;
  }
  return span.status.code === SpanStatusCode.OK ? 'OK' : 'UNSET';
}

// Shared helpers: they print any number (a time out of `Date`'s range included) and never throw.
const iso = isoFromHrTime;
const seconds = formatDuration;

/** Renders spans grouped by trace; children under their parent in the order given. */
export function formatSpanTree(spans: readonly SpanData[]): string {
  const lines: string[] = [];
  const byParent = new Map<string, SpanData[]>();
  const ids = new Set(spans.map((s) => s.spanId));
  const roots: SpanData[] = [];
  for (const span of spans) {
    if (span.parentSpanId && ids.has(span.parentSpanId)) {
      const list = byParent.get(span.parentSpanId) ?? [];
      list.push(span);
      byParent.set(span.parentSpanId, list);
    } else {
      roots.push(span);
    }
  }
  const render = (span: SpanData, prefix: string, last: boolean, depth: number) => {
    const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
    lines.push(
      `${prefix}${branch}${span.name}  [${kindName(span.kind)}]  ${iso(span.startTime)} +${seconds(span.startTime, span.endTime)}  ${statusText(span)}  span ${span.spanId}`,
    );
    const children = byParent.get(span.spanId) ?? [];
    const childPrefix = depth === 0 ? prefix : prefix + (last ? '   ' : '│  ');
    children.forEach((c, i) => render(c, childPrefix, i === children.length - 1, depth + 1));
  };
  for (const root of roots) {
    const parent = root.parentSpanId
      ? ` (child of ${root.parentIsRemote ? 'remote ' : ''}span ${root.parentSpanId}${root.subject.kind === 'run' ? '' : ', not in this output'})`
      : '';
    lines.push(`trace ${root.traceId}${parent}`);
    render(root, '', true, 0);
    lines.push('');
  }
  return lines.join('\n');
}
