import { z } from "zod";
import type { ResourceMetadata } from "../../broker/events.ts";
import type { PathSegment, Reporter } from "./diagnostics.ts";
import { checkPort } from "./istio-fields.ts";
import { isDns1035Label, isDns1123Label, wildcardDomainProblem } from "./names.ts";

const ingressBackendSchema = z.strictObject({
  service: z
    .strictObject({
      name: z.string(),
      port: z.strictObject({ number: z.number().int().optional(), name: z.string().optional() }).optional(),
    })
    .optional(),
  resource: z
    .strictObject({ apiGroup: z.string().optional(), kind: z.string(), name: z.string() })
    .optional(),
});
export type IngressBackend = z.infer<typeof ingressBackendSchema>;

/** Kubernetes `networking.k8s.io/v1` Ingress spec. */
export const ingressSpecSchema = z.strictObject({
  ingressClassName: z.string().optional(),
  defaultBackend: ingressBackendSchema.optional(),
  tls: z
    .array(z.strictObject({ hosts: z.array(z.string()).optional(), secretName: z.string().optional() }))
    .optional(),
  rules: z
    .array(
      z.strictObject({
        host: z.string().optional(),
        http: z
          .strictObject({
            paths: z.array(
              z.strictObject({
                path: z.string().optional(),
                pathType: z.enum(["Exact", "Prefix", "ImplementationSpecific"]).optional(),
                backend: ingressBackendSchema,
              }),
            ),
          })
          .optional(),
      }),
    )
    .optional(),
});

/** A validated Ingress spec. */
export type IngressSpec = z.infer<typeof ingressSpecSchema>;

/** The Ingress class Jibe implements (the Kubernetes adapter publishes only these Ingresses). */
export const JIBE_INGRESS_CLASS = "jibe";

/** The legacy annotation naming an Ingress's class. */
export const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";

/**
 * True when the Ingress is for Jibe (its class, or the legacy class annotation, is `jibe`).
 *
 * @example
 * ```ts
 * isJibeIngress({ ingressClassName: "jibe" }, undefined); // true
 * ```
 */
export function isJibeIngress(spec: IngressSpec, metadata: ResourceMetadata | undefined): boolean {
  const name = spec.ingressClassName ?? metadata?.annotations?.[INGRESS_CLASS_ANNOTATION];
  return name === JIBE_INGRESS_CLASS;
}

/** Annotation prefixes of other controllers whose behaviour Jibe does not implement. */
const FOREIGN_ANNOTATION = /^(nginx\.)?ingress\.kubernetes\.io\/(.+)$/;

/** What to use instead of some well-known controller annotations. */
const INSTEAD: Readonly<Record<string, string>> = {
  "rewrite-target": "a VirtualService bound to a Gateway with http[].rewrite.uri",
  "use-regex": "a VirtualService with match.uri.regex",
  "ssl-redirect": "an Istio Gateway server with tls.httpsRedirect: true",
  "force-ssl-redirect": "an Istio Gateway server with tls.httpsRedirect: true",
  "enable-cors": "a VirtualService with corsPolicy",
  "proxy-read-timeout": "a VirtualService with http[].timeout",
  "permanent-redirect": "a VirtualService with http[].redirect",
  "canary-weight": "a VirtualService with weighted route destinations",
  "whitelist-source-range": "an AuthorizationPolicy with ipBlocks",
  "auth-url": "an AuthorizationPolicy (CUSTOM) or RequestAuthentication",
};

/** Characters that make an ImplementationSpecific path a regex for controllers like nginx. */
const REGEX_CHARS = /[\^$*+?()[\]{}|\\]/;

/**
 * Kubernetes' rules for an Ingress plus what Jibe cannot do: each rule host is a DNS name (a
 * leading `*.` allowed); each path is absolute with a pathType; backends name a Service and one
 * of port number or name. Regex paths and `ingress.kubernetes.io/*` / `nginx.ingress.kubernetes.io/*`
 * annotations are errors naming what to use instead, never silently ignored; `resource` backends
 * are not supported. ImplementationSpecific is treated as Prefix (warning).
 *
 * @example
 * ```ts
 * checkIngress(spec, report, { name: "web", namespace: "default", annotations: { "nginx.ingress.kubernetes.io/rewrite-target": "/" } });
 * // error JIBE1028 at metadata.annotations["nginx.ingress.kubernetes.io/rewrite-target"]
 * ```
 */
export function checkIngress(spec: IngressSpec, report: Reporter, metadata?: ResourceMetadata): void {
  for (const key of Object.keys(metadata?.annotations ?? {})) {
    const foreign = FOREIGN_ANNOTATION.exec(key);
    if (!foreign) continue;
    const instead = INSTEAD[foreign[2]!] ?? "a VirtualService bound to an Istio Gateway (or an HTTPRoute)";
    report.error(
      "JIBE1028",
      ["metadata", "annotations", key],
      `annotation "${key}" is not supported by Jibe (it belongs to another ingress controller and would silently do nothing); remove it and use ${instead}`,
    );
  }
  if (!isJibeIngress(spec, metadata)) {
    const given = spec.ingressClassName ?? metadata?.annotations?.[INGRESS_CLASS_ANNOTATION];
    report.warn(
      "JIBE1013",
      ["spec", "ingressClassName"],
      `${given === undefined ? "no ingress class is set" : `ingress class "${given}" is not Jibe's`}, so Jibe's gateways ignore this Ingress; set ingressClassName: ${JIBE_INGRESS_CLASS} to serve it`,
    );
  }
  if (!spec.rules?.length && !spec.defaultBackend)
    report.error("JIBE1012", ["spec", "rules"], "an Ingress needs rules or a defaultBackend");
  if (spec.defaultBackend) checkBackend(spec.defaultBackend, ["spec", "defaultBackend"], report);
  spec.rules?.forEach((rule, i) => {
    const at = ["spec", "rules", i] as const;
    if (rule.host !== undefined) {
      const problem = rule.host.includes(":")
        ? `host "${rule.host}" must not carry a port`
        : rule.host.startsWith("*") && !rule.host.startsWith("*.")
          ? `wildcard host "${rule.host}" must start with "*." (one whole label)`
          : wildcardDomainProblem(rule.host);
      if (problem || rule.host === "*" || /^[\d.]+$/.test(rule.host))
        report.error(
          "JIBE1017",
          [...at, "host"],
          problem ??
            `host "${rule.host}" must be a DNS name, not an IP or "*"; leave host out to match every host`,
        );
    }
    for (const [j, p] of (rule.http?.paths ?? []).entries())
      checkPath(p, [...at, "http", "paths", j], report);
  });
  for (const [i, tls] of (spec.tls ?? []).entries()) {
    for (const [j, host] of (tls.hosts ?? []).entries()) {
      const problem = wildcardDomainProblem(host);
      if (problem) report.error("JIBE1017", ["spec", "tls", i, "hosts", j], problem);
    }
  }
}

function checkPath(
  p: NonNullable<NonNullable<IngressSpec["rules"]>[number]["http"]>["paths"][number],
  at: readonly PathSegment[],
  report: Reporter,
): void {
  if (p.pathType === undefined)
    report.error("JIBE1012", [...at, "pathType"], "pathType is required; use Prefix or Exact");
  const path = p.path ?? "/";
  if (p.pathType === "ImplementationSpecific" && REGEX_CHARS.test(path))
    report.error(
      "JIBE1028",
      [...at, "path"],
      `regex path "${path}" is not supported by Jibe's Ingress; use pathType Prefix or Exact, or a VirtualService with match.uri.regex`,
    );
  else if (!path.startsWith("/"))
    report.error("JIBE1013", [...at, "path"], `path "${path}" must be absolute (start with "/")`);
  else if (p.pathType !== "ImplementationSpecific" && /\/\/|\/\.\.?(\/|$)|%2f/i.test(path))
    report.error("JIBE1013", [...at, "path"], `path "${path}" must not contain "//", "/./", "/../" or "%2f"`);
  else if (p.pathType === "ImplementationSpecific")
    report.warn(
      "JIBE1013",
      [...at, "pathType"],
      "pathType ImplementationSpecific is treated as Prefix by Jibe (element-wise); say Prefix to make it explicit",
    );
  checkBackend(p.backend, [...at, "backend"], report);
}

function checkBackend(backend: IngressBackend, at: readonly PathSegment[], report: Reporter): void {
  if (backend.resource) {
    report.error(
      "JIBE1028",
      [...at, "resource"],
      "resource backends are not supported by Jibe; route to a Service with backend.service",
    );
    return;
  }
  if (!backend.service) {
    report.error(
      "JIBE1012",
      [...at, "service"],
      "backend.service is required: { name: <service>, port: { number: 80 } }",
    );
    return;
  }
  if (!isDns1035Label(backend.service.name))
    report.error(
      "JIBE1013",
      [...at, "service", "name"],
      `service name "${backend.service.name}" is not a valid Service name`,
    );
  const port = backend.service.port;
  if (!port || (port.number === undefined) === (port.name === undefined))
    report.error(
      "JIBE1022",
      [...at, "service", "port"],
      "set exactly one of service.port.number or service.port.name",
    );
  else if (port.name !== undefined && !isDns1123Label(port.name))
    report.error(
      "JIBE1013",
      [...at, "service", "port", "name"],
      `port name "${port.name}" is not a valid port name`,
    );
  else checkPort(port.number, [...at, "service", "port", "number"], report);
}
