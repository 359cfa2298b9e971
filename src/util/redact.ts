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
    return redactUrlText(url);
  }
}

/**
 * A string meant as a URL, shown as given so the user can see what was wrong, without what may be
 * credentials: the user-info before an `@` and the values of query parameters (`api-version` kept).
 * When the text does not even parse, everything up to its last `@` is hidden: a password may hold
 * `/`, `#` or spaces, so this errs on the side of hiding more.
 */
export function redactUrlText(text: string): string {
  let parses = true;
  try {
    new URL(text);
  } catch {
    parses = false;
  }
  const userInfo = parses ? /^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i : /^([a-z][a-z0-9+.-]*:\/\/)?[^]*@/i;
  return text
    .replace(userInfo, (_match, scheme: string | undefined) => `${scheme ?? ''}<redacted>@`)
    .replace(/([?&][^=&#\s]*)=[^&#\s]*/g, (match, key: string) => (/[?&]api-version$/.test(key) ? match : `${key}=<redacted>`));
}

/** Replaces every occurrence of each secret (of 4+ characters) in `text`. */
export function scrubSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('<redacted>');
  }
  return out;
}
