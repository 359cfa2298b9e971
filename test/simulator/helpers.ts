// Small HTTP helpers for the simulator tests: real requests over loopback, JSON in and out.
import type { Simulator } from '../../src/simulator/index.js';

export interface JsonAnswer<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

/** `path` is relative to `sim.url` (prefix included). The body is parsed when it is JSON. */
export async function call<T = unknown>(sim: Simulator, path: string, init: RequestInit & { json?: unknown } = {}): Promise<JsonAnswer<T>> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(sim.url + path, { ...rest, headers, ...(json === undefined ? {} : { body: JSON.stringify(json), method: rest.method ?? 'POST' }) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (a stream, or a deliberately malformed body): keep the text
  }
  // The caller names the shape it expects; tests assert on it right away.
  return { status: res.status, headers: res.headers, text, body: body as T };
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Parses a text/event-stream body into its events. */
export function parseSse(text: string): { event: string; data: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? '';
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      return { event, data };
    });
}
