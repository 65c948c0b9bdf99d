/**
 * The `when` keys of an AuthorizationPolicy condition (Istio's "Authorization Policy Conditions").
 * Parsed once, so validation and the engine agree on what a key means.
 */

/** What a `when` key reads; `http` keys exist only on HTTP requests. */
export type ConditionKey =
  | { attribute: "request.headers"; header: string; http: true }
  | { attribute: "request.auth.claims"; claim: string[]; http: true }
  | {
      attribute: "request.auth.principal" | "request.auth.audiences" | "request.auth.presenter";
      http: true;
    }
  | { attribute: "source.ip" | "remote.ip" | "destination.ip"; http: false; ip: true }
  | {
      attribute: "source.namespace" | "source.principal" | "destination.port" | "connection.sni";
      http: false;
    };

const PLAIN: Readonly<Record<string, ConditionKey>> = {
  "request.auth.principal": { attribute: "request.auth.principal", http: true },
  "request.auth.audiences": { attribute: "request.auth.audiences", http: true },
  "request.auth.presenter": { attribute: "request.auth.presenter", http: true },
  "source.ip": { attribute: "source.ip", http: false, ip: true },
  "remote.ip": { attribute: "remote.ip", http: false, ip: true },
  "destination.ip": { attribute: "destination.ip", http: false, ip: true },
  "source.namespace": { attribute: "source.namespace", http: false },
  "source.principal": { attribute: "source.principal", http: false },
  "destination.port": { attribute: "destination.port", http: false },
  "connection.sni": { attribute: "connection.sni", http: false },
};

/** Keys accepted, for error messages. */
export const CONDITION_KEYS = [
  "request.headers[<name>]",
  "request.auth.claims[<claim>] (nested: request.auth.claims[a][b])",
  ...Object.keys(PLAIN),
] as const;

/**
 * Parses a `when` key; `undefined` for keys Jibe does not know.
 *
 * @example
 * ```ts
 * parseConditionKey("request.auth.claims[realm][role]"); // { attribute: "request.auth.claims", claim: ["realm", "role"], http: true }
 * parseConditionKey("request.headers[User-Agent]");    // { attribute: "request.headers", header: "user-agent", http: true }
 * ```
 */
export function parseConditionKey(key: string): ConditionKey | undefined {
  const plain = PLAIN[key];
  if (plain) return plain;
  const header = /^request\.headers\[([^\][]+)\]$/.exec(key);
  if (header) return { attribute: "request.headers", header: header[1]!.toLowerCase(), http: true };
  if (key.startsWith("request.auth.claims[")) {
    const rest = key.slice("request.auth.claims".length);
    if (!/^(\[[^\][]+\])+$/.test(rest)) return undefined;
    const claim = [...rest.matchAll(/\[([^\][]+)\]/g)].map((m) => m[1]!);
    return { attribute: "request.auth.claims", claim, http: true };
  }
  return undefined;
}
