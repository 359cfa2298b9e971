/**
 * Keeping secrets out of output. URLs may carry credentials in their user-info
 * (`postgres://user:password@db/…`, `https://token@host/…`) or query string (`?api-key=…`,
 * `?code=…`); they are shown without them, whatever the scheme, so a state URL added later, an API
 * base URL or a collector URL is safe in any log line, error or metric.
 */

/** A URL without its user-info and with its query values replaced (except `api-version`). */
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
    return redactUrlsInText(url).includes('<redacted>') ? redactUrlsInText(url) : '<unparseable URL>';
  }
}

/** `scheme://user-info@`: the user-info may be a password, a token or `user:password`. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/gi;
/** A query value of a URL's query string: `?key=value` or `&key=value`, after `scheme://…`. */
const URL_WITH_QUERY = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>?#]*\?[^\s"'<>#]*/gi;
const QUERY_VALUE = /([?&])([^=&]+)=([^&]*)/g;

/**
 * Every URL in `text` without its credentials: user-info becomes `<redacted>@`, query values
 * `<redacted>` (except `api-version`). Text without URLs is returned as is.
 */
export function redactUrlsInText(text: string): string {
  if (!text.includes('://')) return text;
  return text
    .replace(USERINFO, '$1<redacted>@')
    .replace(URL_WITH_QUERY, (url) => url.replace(QUERY_VALUE, (whole, sep: string, key: string) => (key === 'api-version' ? whole : `${sep}${key}=<redacted>`)));
}

/** Replaces every occurrence of each secret (of 4+ characters) in `text`, and every URL's credentials. */
export function scrubSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = redactUrlsInText(text);
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('<redacted>');
  }
  return out;
}
