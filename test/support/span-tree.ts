// Received spans as parent/child trees, for structural assertions and readable failure output.
import type { ReceivedSpan } from './otlp-types.js';

export interface SpanNode {
  span: ReceivedSpan;
  children: SpanNode[];
  /** True when the span names a parent that is not among the spans given (shown as a root). */
  orphan: boolean;
}

const KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUS_NAMES = ['UNSET', 'OK', 'ERROR'];

/**
 * Builds the forest of the given spans: roots are spans without a parent or whose parent is
 * missing (marked `orphan`). Siblings, and roots, are sorted by start time, then name, then span
 * id, so the result does not depend on arrival order. Parents are matched within the same trace.
 * A span received twice (same trace and span id, e.g. a retried export) appears once.
 */
export function spanTree(spans: readonly ReceivedSpan[]): SpanNode[] {
  const nodes = new Map<string, SpanNode>();
  for (const span of spans) nodes.set(keyOf(span.traceId, span.spanId), { span, children: [], orphan: false });

  const roots: SpanNode[] = [];
  for (const node of nodes.values()) {
    const { traceId, parentSpanId } = node.span;
    const parent = parentSpanId === '' ? undefined : nodes.get(keyOf(traceId, parentSpanId));
    if (parent !== undefined && parent !== node) {
      parent.children.push(node);
    } else {
      node.orphan = parentSpanId !== '';
      roots.push(node);
    }
  }
  breakParentCycles(nodes, roots);
  sortDeep(roots);
  return roots;
}

/** Spans whose parent chain loops never reach a root; detach one per loop so none is lost. */
function breakParentCycles(nodes: Map<string, SpanNode>, roots: SpanNode[]): void {
  const reached = new Set<SpanNode>();
  const mark = (node: SpanNode): void => {
    reached.add(node);
    for (const child of node.children) if (!reached.has(child)) mark(child);
  };
  roots.forEach(mark);
  for (const node of nodes.values()) {
    if (reached.has(node)) continue;
    const parent = nodes.get(keyOf(node.span.traceId, node.span.parentSpanId));
    if (parent !== undefined) parent.children = parent.children.filter((child) => child !== node);
    node.orphan = true;
    roots.push(node);
    mark(node);
  }
}

/**
 * Indented text, one span a line: `name [KIND] STATUS`, with the status message and an orphan
 * marker when present. Accepts spans or an already built tree.
 */
export function formatTree(input: readonly ReceivedSpan[] | readonly SpanNode[]): string {
  const roots = isTree(input) ? input : spanTree(input);
  if (roots.length === 0) return '(no spans)';
  const lines: string[] = [];
  const visit = (node: SpanNode, depth: number): void => {
    lines.push(`${'  '.repeat(depth)}${describeSpan(node)}`);
    for (const child of node.children) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  return lines.join('\n');
}

function describeSpan(node: SpanNode): string {
  const { name, kind, status, parentSpanId } = node.span;
  const kindName = KIND_NAMES[kind] ?? `KIND_${kind}`;
  const statusName = STATUS_NAMES[status.code] ?? `STATUS_${status.code}`;
  const message = status.message === '' ? '' : ` "${status.message}"`;
  const orphan = node.orphan ? ` (orphan: parent ${parentSpanId} not received)` : '';
  return `${name} [${kindName}] ${statusName}${message}${orphan}`;
}

function sortDeep(nodes: SpanNode[]): void {
  nodes.sort(compareNodes);
  for (const node of nodes) sortDeep(node.children);
}

function compareNodes(a: SpanNode, b: SpanNode): number {
  const byStart = a.span.startTimeUnixNano - b.span.startTimeUnixNano;
  if (byStart !== 0n) return byStart < 0n ? -1 : 1;
  if (a.span.name !== b.span.name) return a.span.name < b.span.name ? -1 : 1;
  return a.span.spanId < b.span.spanId ? -1 : a.span.spanId > b.span.spanId ? 1 : 0;
}

function keyOf(traceId: string, spanId: string): string {
  return `${traceId}/${spanId}`;
}

function isTree(input: readonly ReceivedSpan[] | readonly SpanNode[]): input is readonly SpanNode[] {
  const [first] = input;
  return first !== undefined && 'children' in first;
}
