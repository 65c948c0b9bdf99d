/**
 * The compiled security section of a {@link Snapshot}: the AuthorizationPolicies and JWT rules
 * (RequestAuthentication) that apply to one proxy's inbound traffic. Plain, JSON-serialisable data;
 * `workers/engine` precompiles it (`buildAuthzTable`) and evaluates requests against it.
 *
 * Values keep Istio's string forms (`/info*`, `*.example.com`, `10.0.0.0/8`, `{*}` templates) so the
 * compiled view reads like the policy that produced it.
 */

/** Istio `Source`, as validated. Every present field must match (AND); values in a field are OR. */
export interface AuthzSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

/** Istio `Operation`, as validated. */
export interface AuthzOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

/** Istio `Condition`: `key` as written (`request.auth.claims[groups]`). */
export interface AuthzCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

/** Istio `Rule`: `from` (any) AND `to` (any) AND every `when`. Absent parts match everything. */
export interface AuthzRule {
  from?: AuthzSource[];
  to?: AuthzOperation[];
  when?: AuthzCondition[];
}

/** One AuthorizationPolicy that applies to this proxy. */
export interface AuthzPolicy {
  /** `AuthorizationPolicy/<ns>/<name>`: what a decision names. */
  ref: string;
  action: "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";
  /** CUSTOM: the extension provider's name. */
  provider?: string;
  /** `istio.io/dry-run: "true"`: evaluated and reported, never enforced. */
  dryRun?: boolean;
  /** `[]` matches nothing (`spec: {}` = deny all for ALLOW); `[{}]` matches everything. */
  rules: AuthzRule[];
  /**
   * Set when the policy was invalid on this proxy: it was compiled to fail closed (a DENY or CUSTOM
   * policy denies everything, an ALLOW policy allows nothing) and this says why.
   */
  failClosed?: string;
}

/** One `jwtRules` entry of a RequestAuthentication that applies to this proxy. */
export interface JwtRule {
  /** `RequestAuthentication/<ns>/<name>#<index>`. */
  ref: string;
  issuer: string;
  audiences?: string[];
  jwksUri?: string;
  /** Inline JWK Set (JSON text). */
  jwks?: string;
  /** JWKS fetch timeout (Istio `timeout`; default 5 s in the engine). */
  timeoutMs?: number;
  /** Header names lower-case; absent locations mean the defaults (Authorization: Bearer, `access_token`). */
  fromHeaders?: { name: string; prefix?: string }[];
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  outputClaimToHeaders?: { header: string; claim: string }[];
  forwardOriginalToken?: boolean;
  /** Set when the RequestAuthentication was invalid here: every token is refused (401), as Istio does. */
  rejectAll?: string;
}

/**
 * A CUSTOM policy's external authorizer: mesh config `extensionProviders[].envoyExtAuthzHttp`, with
 * defaults applied. Header patterns are lower-case Istio globs (exact, `prefix*`, `*suffix`).
 */
export interface ExtAuthzProvider {
  name: string;
  /** Host of the authorizer's Service (`<namespace>/` dropped), or an IP address. */
  service: string;
  port: number;
  /** Prepended to the request path in the check request (default none). */
  pathPrefix: string;
  /** Default 600 s, as Istio documents. */
  timeoutMs: number;
  /** Authorizer unreachable or too slow: allow instead of denying. */
  failOpen: boolean;
  /** Status of the denial when the authorizer fails (default 403). */
  statusOnError: number;
  /** Request headers sent in the check (besides the always-sent authorization/host/method/path ones). */
  includeRequestHeadersInCheck: string[];
  includeAdditionalHeadersInCheck: Record<string, string>;
  headersToUpstreamOnAllow: string[];
  headersToDownstreamOnAllow: string[];
  headersToDownstreamOnDeny: string[];
}

/** What `Snapshot.authz` holds; absent from a snapshot when no security policy exists at all. */
export interface AuthzSnapshot {
  /** Policies that apply to this proxy, ordered by `ref`. */
  policies: AuthzPolicy[];
  /** JWT rules that apply to this proxy, ordered by `ref`. */
  jwtRules: JwtRule[];
  /** The extension providers the CUSTOM policies here name (present when there is one). */
  extAuthz?: Record<string, ExtAuthzProvider>;
}
