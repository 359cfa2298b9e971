/**
 * Keeping secrets out of output. URLs may carry credentials in their user-info or query string
 * (`?api-key=…`, `?code=…`); they are shown without them.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = '';
      parsed.password = '';
    }
    for (const key of [...parsed.searchParams.keys()]) {
      if (key !== 'api-version') parsed.searchParams.set(key, '<redacted>');
    }
    return parsed.href;
  } catch {
    return '<unparseable URL>';
  }
}

/** Replaces every occurrence of each secret (of 4+ characters) in `text`. */
export function scrubSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('<redacted>');
  }
  return out;
}
