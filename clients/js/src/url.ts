/** Builds the WebSocket URL: the given url with `token` and `resume` (URL-encoded) in its query. */
export function buildConnectUrl(url: string, token?: string, resumeToken?: string): string {
  let hash = '';
  const hashAt = url.indexOf('#');
  if (hashAt >= 0) {
    hash = url.slice(hashAt);
    url = url.slice(0, hashAt);
  }
  let base = url;
  let params: string[] = [];
  const q = url.indexOf('?');
  if (q >= 0) {
    base = url.slice(0, q);
    params = url
      .slice(q + 1)
      .split('&')
      .filter((p) => p !== '' && !/^(token|resume)(=|$)/.test(p));
  }
  if (token !== undefined && token !== '') params.push('token=' + encodeURIComponent(token));
  if (resumeToken) params.push('resume=' + encodeURIComponent(resumeToken));
  return (params.length ? base + '?' + params.join('&') : base) + hash;
}

/** ws://host:port/path -> http://host:port ; wss:// -> https:// (same host and port). */
export function httpBaseFromWsUrl(url: string): string {
  const m = /^(wss?):\/\/([^/?#]+)/i.exec(url);
  if (!m) throw new TypeError(`not a ws:// or wss:// url: ${url}`);
  const scheme = m[1]!.toLowerCase() === 'wss' ? 'https' : 'http';
  return `${scheme}://${m[2]}`;
}
