/**
 * Keeping secrets out of output. URLs may carry credentials in their user-info
 * (`postgres://user:password@db/…`, `https://token@host/…`) or query string (`?api-key=…`,
 * `?code=…`); they are shown without them, whatever the scheme, so a state URL, an API base URL
 * or a collector URL is safe in any log line, error or metric.
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
    // Not a URL: shown as given (the user sees what was wrong), credentials hidden; the user name is
    // kept before a password, as in every other line.
    const inText = redactUrlsInText(url);
    return inText !== url ? inText : redactUrlText(url);
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

/** Connection-string parameters that hold a secret (libpq's and node-postgres' names). */
const SECRET_PARAMETER = /pass|secret|token|key/i;

/**
 * A database connection URL (`postgres://user:password@host:5432/db?sslmode=require`) as it may be
 * shown: the user, host, database and settings stay (they say which database is meant), the
 * password and any secret-looking parameter (`password`, `sslpassword`, `sslkey`…) become
 * `<redacted>`. Never echoes an unparseable URL, which could be all password.
 */
export function redactConnectionUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'redacted';
    for (const key of [...parsed.searchParams.keys()]) {
      if (SECRET_PARAMETER.test(key)) parsed.searchParams.set(key, 'redacted');
    }
    // `redacted` rather than `<redacted>` in the URL API (which would percent-encode the brackets).
    return parsed.href.replace(/:redacted@/, ':<redacted>@').replace(/=redacted(?=&|$)/g, '=<redacted>');
  } catch {
    // The WHATWG parser refuses some strings libpq accepts (`postgres://:pw@/db?host=/run/pg`):
    // keep what precedes the password, drop the password and every parameter.
    const match = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^:@/?#]*)(:[^@/?#]*)?@)?([^?#]*)/i.exec(url);
    if (!match) return '<unparseable URL>';
    const [, scheme, user, password, rest] = match;
    const userInfo = user === undefined ? '' : `${user}${password ? ':<redacted>' : ''}@`;
    return `${scheme}${userInfo}${rest}${url.length > match[0].length ? '?<redacted>' : ''}`;
  }
}

/**
 * The secrets a connection URL carries, as they may appear in text: the password raw (as written
 * in the URL), percent-decoded, and secret-looking parameter values. For loggers' scrub lists.
 */
export function connectionUrlSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    const secrets = [parsed.password, safeDecode(parsed.password)];
    for (const [key, value] of parsed.searchParams) if (SECRET_PARAMETER.test(key)) secrets.push(value);
    return [...new Set(secrets.filter((s) => s !== ''))];
  } catch {
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:([^@/?#]*)@/i.exec(url)?.[1];
    const params = [...url.matchAll(/[?&]([^=&#]+)=([^&#]*)/g)].filter(([, key]) => SECRET_PARAMETER.test(key ?? '')).map(([, , value]) => value ?? '');
    return [...new Set([password ?? '', safeDecode(password ?? ''), ...params, ...params.map(safeDecode)].filter((s) => s !== ''))];
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `scheme://user:password@` or `scheme://token@`: the user name is kept when a password follows it. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>:]*)(:[^\s/?#@"'<>]*)?@/gi;
/**
 * A URL with a query string, in running text. A `<redacted>` marker already in it (the PostgreSQL
 * store's own redaction) is part of the URL, so its value is not redacted a second time.
 */
const URL_WITH_QUERY = /\b([a-z][a-z0-9+.-]*):\/\/(?:[^\s"'<>?#]|<redacted>)*\?(?:[^\s"'<>#]|<redacted>)*/gi;
const QUERY_VALUE = /([?&])([^=&]+)=([^&]*)/g;

/**
 * Every URL in `text` without its credentials, whatever the scheme: a password becomes
 * `user:<redacted>@`; a bare user-info is a token in an http(s) URL (`https://ghp_…@host`) and
 * becomes `<redacted>@`, and a user name in any other (`postgres://otel@db`), kept; query values of http(s) URLs become
 * `<redacted>` (except `api-version`: API keys travel as `?api-key=`, `?code=`), and for other
 * schemes (a database URL) the secret-looking ones (`password`, `sslkey`…). Text without URLs is
 * returned as is.
 */
export function redactUrlsInText(text: string): string {
  if (!text.includes('://')) return text;
  // Query values first: once user-info reads `<redacted>`, its `<` would end the URL's match.
  return text
    .replace(URL_WITH_QUERY, (url, scheme: string) => {
      const web = /^https?$/i.test(scheme);
      return url.replace(QUERY_VALUE, (whole, sep: string, key: string) => ((web ? key === 'api-version' : !SECRET_PARAMETER.test(key)) ? whole : `${sep}${key}=<redacted>`));
    })
    .replace(USERINFO, (whole, scheme: string, user: string, password: string | undefined) => {
      if (password !== undefined) return `${scheme}${user}:<redacted>@`;
      return /^https?:\/\/$/i.test(scheme) ? `${scheme}<redacted>@` : whole;
    });
}

/** Replaces every occurrence of each secret (of 4+ characters) in `text`, and every URL's credentials. */
export function scrubSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = redactUrlsInText(text);
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('<redacted>');
  }
  return out;
}
