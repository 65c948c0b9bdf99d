import type { RedirectPolicy } from "../../control/compile/snapshot.ts";
import type { RequestFacts } from "./decide-route.ts";
import { rewritePath } from "./rewrite.ts";
import { authorityPort, stripPort } from "./route-table.ts";

/** The answer to a redirect rule. */
export interface RedirectAnswer {
  status: number;
  location: string;
}

const DEFAULT_PORT = { http: 80, https: 443 } as const;

/**
 * Builds the redirect for a request (Istio `HTTPRedirect`, with Envoy's rules for what is kept):
 * the scheme, host, port and path of the request unless the policy replaces them; `uri` replaces
 * the whole path but the query string is kept (unless `uri` has its own); the request's port is
 * dropped when `authority` or `port` is given, or when the scheme changes away from its default
 * port. `FROM_PROTOCOL_DEFAULT` uses the scheme's port and `FROM_REQUEST_PORT` the request's.
 * A port that is the default of the final scheme is left out of `Location`.
 *
 * @example
 * ```ts
 * applyRedirect({ authority: "shop:8080", path: "/a?x=1", method: "GET", scheme: "http", headers: {} },
 *   { status: 302, uri: "/b", scheme: "https", derivePort: "FROM_PROTOCOL_DEFAULT" });
 * // { status: 302, location: "https://shop/b?x=1" }
 * ```
 */
export function applyRedirect(req: RequestFacts, redirect: RedirectPolicy): RedirectAnswer {
  const scheme = redirect.scheme ?? req.scheme;
  const requestPort = authorityPort(req.authority);
  let host = redirect.authority ?? stripPort(req.authority);
  let port: number | undefined;
  if (redirect.port !== undefined) port = redirect.port;
  else if (redirect.derivePort === "FROM_REQUEST_PORT")
    port = req.port ?? requestPort ?? DEFAULT_PORT[req.scheme];
  else if (redirect.derivePort === "FROM_PROTOCOL_DEFAULT") port = undefined;
  else if (redirect.authority === undefined && requestPort !== undefined) {
    const schemeChanged = scheme !== req.scheme;
    port = schemeChanged && requestPort === DEFAULT_PORT[req.scheme] ? undefined : requestPort;
  }
  if (redirect.authority !== undefined && (port !== undefined || redirect.derivePort !== undefined))
    host = stripPort(host);
  const portPart = port === undefined || port === DEFAULT_PORT[scheme] ? "" : `:${port}`;
  const path = redirect.pathRewrite
    ? rewritePath(req.path, redirect.pathRewrite)
    : redirectPath(req.path, redirect.uri);
  return { status: redirect.status, location: `${scheme}://${host}${portPart}${path}` };
}

function redirectPath(requestPath: string, uri: string | undefined): string {
  let path = requestPath;
  if (uri !== undefined) {
    const q = requestPath.indexOf("?");
    path = uri.includes("?") || q < 0 ? uri : `${uri}${requestPath.slice(q)}`;
  }
  return path.startsWith("/") ? path : `/${path}`;
}
