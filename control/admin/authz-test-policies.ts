import { exportJWK, generateKeyPair, SignJWT } from "jose";

/**
 * Test support (not a test): Istio's AuthorizationPolicy doc examples as YAML, for the
 * `POST /api/v1/authz/check` and `jibe authz check` suites.
 *
 * @example
 * ```ts
 * await fx.api("/api/v1/apply", { method: "POST", body: ISTIO_AUTHZ_EXAMPLES, type: "application/yaml" });
 * ```
 */

/** The sleep client's SPIFFE id in namespace `foo`. */
export const SLEEP_FOO = "spiffe://cluster.local/ns/foo/sa/sleep";

/**
 * - `foo`: allow-nothing (`spec: {}`, deny by default) plus `httpbin-viewer` allowing GET from sleep;
 * - `bar`: `allow-all` (`rules: [{}]`) plus `deny-method-get` (DENY GET unless `x-token: admin`), so a
 *   DENY wins over an ALLOW, and a dry-run DENY of `/admin*`;
 * - `jwt`: `require-jwt` allowing only `testing@secure.istio.io/testing@secure.istio.io`.
 */
export const ISTIO_AUTHZ_EXAMPLES = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: foo}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin-viewer, namespace: foo}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: ALLOW
  rules:
  - from: [{source: {principals: ["cluster.local/ns/foo/sa/sleep"]}}]
    to: [{operation: {methods: ["GET"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: bar}
spec:
  action: ALLOW
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-method-get, namespace: bar}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: DENY
  rules:
  - to: [{operation: {methods: ["GET"]}}]
    when: [{key: "request.headers[x-token]", notValues: ["admin"]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: dry-run-deny-admin
  namespace: bar
  annotations: {"istio.io/dry-run": "true"}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin*"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt, namespace: jwt}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: ALLOW
  rules:
  - from: [{source: {requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]}}]
`;

/** A RequestAuthentication for `jwt/httpbin` with an inline key, and tokens it accepts or refuses. */
export async function jwtExample(): Promise<{ policy: string; goodToken: string; otherSubject: string }> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "test", alg: "ES256" };
  const issuer = "testing@secure.istio.io";
  const sign = (sub: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "test" })
      .setIssuer(issuer)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(privateKey);
  const policy = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt-example, namespace: jwt}
spec:
  selector: {matchLabels: {app: httpbin}}
  jwtRules:
  - issuer: ${issuer}
    jwks: '${JSON.stringify({ keys: [jwk] })}'
`;
  return { policy, goodToken: await sign(issuer), otherSubject: await sign("someone-else") };
}
