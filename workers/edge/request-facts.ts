import type { RequestFacts } from "../engine/index.ts";

/**
 * What the engine matches on, read from an incoming edge request. The authority is the Host the
 * client asked for; the path keeps its query string (the engine matches `queryParams` from it).
 *
 * @example
 * ```ts
 * requestFacts(new Request("https://bookinfo.example.com/productpage?u=1"));
 * // { authority: "bookinfo.example.com", path: "/productpage?u=1", scheme: "https", port: 443, ... }
 * ```
 */
export function requestFacts(request: Request, url: URL = new URL(request.url)): RequestFacts {
  const scheme = url.protocol === "https:" ? "https" : "http";
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) headers[name.toLowerCase()] = value;
  return {
    authority: url.host.toLowerCase(),
    path: `${url.pathname}${url.search}`,
    method: request.method.toUpperCase(),
    scheme,
    headers,
    port: url.port ? Number(url.port) : scheme === "https" ? 443 : 80,
  };
}
