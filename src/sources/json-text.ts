/** `Unexpected token } in JSON at position 12, "…" is not valid JSON` → the short reason. */
export function shortJsonMessage(error: Error): string {
  return error.message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/, ' (not valid JSON)');
}
