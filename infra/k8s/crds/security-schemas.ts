import { array, boolean, duration, labels, map, object, oneOf, string, strings } from "./openapi-schema.ts";

/** Istio security.istio.io spec schemas (istio.io/api, security/v1). */
const selector = object({ matchLabels: labels() });
const targetRef = object(
  { group: string(), kind: string(), name: string(), namespace: string() },
  { required: ["kind", "name"] },
);
const targets = { selector, targetRef, targetRefs: array(targetRef) };

const source = object({
  principals: strings(),
  notPrincipals: strings(),
  requestPrincipals: strings(),
  notRequestPrincipals: strings(),
  namespaces: strings(),
  notNamespaces: strings(),
  ipBlocks: strings(),
  notIpBlocks: strings(),
  remoteIpBlocks: strings(),
  notRemoteIpBlocks: strings(),
});
const operation = object({
  hosts: strings(),
  notHosts: strings(),
  ports: strings(),
  notPorts: strings(),
  methods: strings(),
  notMethods: strings(),
  paths: strings(),
  notPaths: strings(),
});

export const authorizationPolicySpec = object({
  ...targets,
  rules: array(
    object({
      from: array(object({ source })),
      to: array(object({ operation })),
      when: array(object({ key: string(), values: strings(), notValues: strings() }, { required: ["key"] })),
    }),
  ),
  action: oneOf(["ALLOW", "DENY", "AUDIT", "CUSTOM"]),
  provider: object({ name: string() }),
});

export const requestAuthenticationSpec = object({
  ...targets,
  jwtRules: array(
    object(
      {
        issuer: string(),
        audiences: strings(),
        jwksUri: string(),
        jwks: string(),
        fromHeaders: array(object({ name: string(), prefix: string() }, { required: ["name"] })),
        fromParams: strings(),
        fromCookies: strings(),
        outputPayloadToHeader: string(),
        forwardOriginalToken: boolean(),
        outputClaimToHeaders: array(object({ header: string(), claim: string() })),
        timeout: duration(),
      },
      { required: ["issuer"] },
    ),
  ),
});

const mtls = object({ mode: oneOf(["UNSET", "DISABLE", "PERMISSIVE", "STRICT"]) });

export const peerAuthenticationSpec = object({ selector, mtls, portLevelMtls: map(mtls) });
