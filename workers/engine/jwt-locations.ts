import type { JwtRule } from "../../control/compile/authz-snapshot.ts";

/** Where a token was found. */
export type TokenLocation =
  | { kind: "header"; name: string; prefix: string }
  | { kind: "param"; name: string }
  | { kind: "cookie"; name: string };

/** A token found in a request, with the rules that look in that location. */
export interface FoundToken {
  token: string;
  location: TokenLocation;
  rules: JwtRule[];
}

/** What the extractor reads of a request. */
export interface TokenSource {
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Path with query string. */
  path: string;
}

/** Istio's default locations when a rule names none: `Authorization: Bearer <t>` and `?access_token=<t>`. */
const DEFAULT_LOCATIONS: readonly TokenLocation[] = [
  { kind: "header", name: "authorization", prefix: "Bearer " },
  { kind: "param", name: "access_token" },
];

/** The locations a rule reads. */
export function ruleLocations(rule: JwtRule): TokenLocation[] {
  const custom: TokenLocation[] = [
    ...(rule.fromHeaders ?? []).map((h) => ({
      kind: "header" as const,
      name: h.name,
      prefix: h.prefix ?? "",
    })),
    ...(rule.fromParams ?? []).map((name) => ({ kind: "param" as const, name })),
    ...(rule.fromCookies ?? []).map((name) => ({ kind: "cookie" as const, name })),
  ];
  return custom.length > 0 ? custom : [...DEFAULT_LOCATIONS];
}

/**
 * Finds every token the rules' locations hold, each once with the rules that read that location.
 *
 * @example
 * ```ts
 * findTokens(rules, { headers: { authorization: "Bearer eyJ..." }, path: "/" });
 * // [{ token: "eyJ...", location: { kind: "header", name: "authorization", prefix: "Bearer " }, rules }]
 * ```
 */
export function findTokens(rules: readonly JwtRule[], source: TokenSource): FoundToken[] {
  const found = new Map<string, FoundToken>();
  let params: URLSearchParams | undefined;
  let cookies: Map<string, string> | undefined;
  for (const rule of rules) {
    for (const location of ruleLocations(rule)) {
      let token: string | undefined;
      if (location.kind === "header") {
        const value = source.headers[location.name];
        if (value !== undefined && value.length > location.prefix.length) {
          const matchesPrefix =
            value.slice(0, location.prefix.length).toLowerCase() === location.prefix.toLowerCase();
          if (matchesPrefix) token = value.slice(location.prefix.length).trim();
        }
      } else if (location.kind === "param") {
        params ??= new URLSearchParams(queryOf(source.path));
        token = params.get(location.name) ?? undefined;
      } else {
        cookies ??= parseCookies(source.headers.cookie);
        token = cookies.get(location.name);
      }
      if (!token) continue;
      const key = `${location.kind}:${location.name}`;
      const entry = found.get(key);
      if (entry) {
        if (!entry.rules.includes(rule)) entry.rules.push(rule);
      } else found.set(key, { token, location, rules: [rule] });
    }
  }
  return [...found.values()];
}

function queryOf(path: string): string {
  const q = path.indexOf("?");
  if (q === -1) return "";
  const hash = path.indexOf("#", q);
  return path.slice(q + 1, hash === -1 ? undefined : hash);
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (name && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}
