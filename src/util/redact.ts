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
 * credentials: everything before the last `@` of the authority (a password may hold `/` or `#`, so
 * this errs on the side of hiding more) and the values of query parameters.
 */
export function redactUrlText(text: string): string {
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)?\S*@/i, (_match, scheme: string | undefined) => `${scheme ?? ''}<redacted>@`)
    .replace(/([?&][^=&#\s]*)=[^&#\s]*/g, (_match, key: string) => (/[?&]api-version$/.test(key) ? _match : `${key}=<redacted>`));
}

/** Replaces every occurrence of each secret (of 4+ characters) in `text`. */
export function scrubSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('<redacted>');
  }
  return out;
}
