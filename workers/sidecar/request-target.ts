import { respondLocally } from "./local-response.ts";
import { ANSWERED, type Layer } from "./proxy-context.ts";

/** Where a request is going, from its request line and Host header. */
export interface RequestTarget {
  /** Authority as given, e.g. `reviews:9080`. */
  authority: string;
  /** Origin-form target, e.g. `/reviews/0?x=1`. */
  path: string;
  scheme: "http" | "https";
}

/**
 * Reads the target of a request: an absolute-form URI (`GET http://reviews:9080/x`, as HTTP proxy
 * clients send it) wins over the Host header, as RFC 9112 §3.2.2 requires. `undefined` if neither
 * names an authority.
 *
 * @example
 * ```ts
 * parseRequestTarget("http://reviews:9080/r/0", "ignored"); // { authority: "reviews:9080", path: "/r/0", scheme: "http" }
 * parseRequestTarget("/r/0", "reviews");                     // { authority: "reviews", path: "/r/0", scheme: "http" }
 * ```
 */
export function parseRequestTarget(url: string, host: string | undefined): RequestTarget | undefined {
  const absolute = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(url);
  if (absolute) {
    const scheme = absolute[1]!.toLowerCase() === "https" ? "https" : "http";
    const authority = withoutUserInfo(absolute[2]!);
    const rest = absolute[3]!.replace(/#.*$/, "");
    if (!isAuthority(authority)) return undefined;
    return { authority, path: rest.startsWith("/") ? rest : `/${rest}`, scheme };
  }
  if (host === undefined || !isAuthority(host)) return undefined;
  return { authority: host, path: url.startsWith("/") ? url : `/${url}`, scheme: "http" };
}

function withoutUserInfo(authority: string): string {
  const at = authority.lastIndexOf("@");
  return at === -1 ? authority : authority.slice(at + 1);
}

function isAuthority(value: string): boolean {
  return /^(\[[0-9a-fA-F:.]+\]|[^\s/?#@[\]:]+)(:\d{1,5})?$/.test(value);
}

/**
 * Sets `ctx.authority` and `ctx.path` from the request line / Host header, and the upstream Host
 * header to that authority. Answers 400 (`DPE`) when the request names no authority. With
 * `schemeFromConnection` (the ingress gateway, where clients' TLS ends) a request that came over
 * TLS has scheme `https`.
 */
export function resolveTarget(options: { schemeFromConnection?: boolean } = {}): Layer {
  return (next) => (ctx) => {
    // HTTP/2 names the authority in `:authority` (createContext took it into ctx.authority).
    const host = ctx.req.headers.host ?? (ctx.req.httpVersionMajor >= 2 ? ctx.authority : undefined);
    const target = parseRequestTarget(ctx.req.url ?? "/", host);
    if (!target) {
      respondLocally(ctx, 400, "DPE", "request names no target: send a Host header or an absolute-form URI");
      return ANSWERED;
    }
    ctx.authority = target.authority;
    ctx.path = target.path;
    ctx.scheme =
      options.schemeFromConnection && (ctx.req.socket as { encrypted?: boolean } | undefined)?.encrypted
        ? "https"
        : target.scheme;
    ctx.upstreamHeaders.host = target.authority;
    return next(ctx);
  };
}
