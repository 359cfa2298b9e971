/**
 * What a command knows about the terminal it writes to: whether it is one, how wide it is, and
 * how to paint text on it. Colours come from node:util's `styleText` (Node ≥ 20.12); on older
 * Node 20 releases, from the same ANSI codes written here.
 */
import type { Writable } from 'node:stream';
import * as util from 'node:util';
import { DEFAULT_WIDTH, type Painter, type Style } from './waterfall.js';

export interface Terminal {
  isTTY: boolean;
  /** Columns: the terminal's, or 80 when it is not one (or does not say). */
  width: number;
}

export function terminalOf(stream: Writable): Terminal {
  const tty = stream as Writable & { isTTY?: boolean; columns?: number };
  const isTTY = tty.isTTY === true;
  // A pseudo-terminal without a size (script(1) with no terminal of its own) reports 0 columns.
  const columns = isTTY && typeof tty.columns === 'number' && tty.columns > 0 ? tty.columns : DEFAULT_WIDTH;
  return { isTTY, width: columns };
}

type StyleFormat = 'bold' | 'green' | 'red' | 'yellow' | 'cyan' | 'dim';

const FORMATS: Record<Style, StyleFormat> = {
  header: 'bold',
  ok: 'green',
  error: 'red',
  warning: 'yellow',
  bar: 'cyan',
  track: 'dim',
  dim: 'dim',
};

const ANSI: Record<StyleFormat, [number, number]> = { bold: [1, 22], green: [32, 39], red: [31, 39], yellow: [33, 39], cyan: [36, 39], dim: [2, 22] };

type StyleText = (format: StyleFormat, text: string, options?: { validateStream?: boolean }) => string;
// A namespace read, not a named import: Node 20.6–20.11 have no styleText, and a named import would fail to load.
const styleText = (util as unknown as { styleText?: StyleText }).styleText;

/** Paints with colours, or not at all. Whether to colour is the caller's decision (see `colorEnabled`). */
export function painter(color: boolean): Painter {
  if (!color) return (_style, text) => text;
  return (style, text) => {
    const format = FORMATS[style];
    if (styleText) return styleText(format, text, { validateStream: false });
    const [open, close] = ANSI[format];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  };
}
