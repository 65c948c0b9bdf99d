import type { Diagnostic } from "./snapshot.ts";

/**
 * Every diagnostic code the compiler emits (validation codes JIBE10xx come from control/model).
 * Errors mean the affected part fails closed; warnings mean Jibe accepted something it does not
 * enforce yet, or resolved a conflict the way Istio does.
 */
export const COMPILE_DIAGNOSTIC_CODES = {
  JIBE2001: "route names a subset no DestinationRule defines: that destination answers 503 (fails closed)",
  JIBE2002: "route destination host is not a known Service: that destination answers 503",
  JIBE2003: "route destination port is not a port of the Service: that destination answers 503",
  JIBE2004:
    "another VirtualService already owns this host for sidecars (Istio: oldest wins); this one is ignored for it",
  JIBE2005: "resource is invalid and ignored by this proxy (fails closed)",
  JIBE2006: "kind is not used by the routing compiler; resource ignored",
  JIBE2007: "subset defined by several DestinationRules for the same host; the oldest wins",
  JIBE2008: "field is accepted but not enforced by Jibe yet",
  JIBE2009: "no longer emitted (redirects are enforced); kept so the code keeps its meaning",
  JIBE2010: "domain claimed by several virtual hosts; the first (by name) wins",
  JIBE2011: "WorkloadEntry without an address is not an endpoint",
  JIBE2012: "the same resource was given twice; the first is used",
  JIBE2013: "a rule with a fault ignores its timeout and retries (as in Istio)",
  JIBE2014:
    "several PeerAuthentications apply at the same level (mesh, namespace or workload); the oldest wins",
  JIBE2030: "invalid security policy reached this proxy and was compiled to fail closed",
  JIBE2040:
    "several Sidecars apply to one workload at the same level (Istio: oldest wins); the others are ignored for it",
  JIBE2041:
    "VirtualService host is not exposed by any server of the Gateway it is bound to: not served there",
  JIBE2042: "Ingress backend names an unknown Service or Service port: that path answers 503",
  JIBE2043:
    "VirtualService tls route (PASSTHROUGH) or tcp route (TCP / terminated TLS) destination at a gateway server is not a known Service (or its port is ambiguous): connections for it are refused",
  JIBE2044:
    "gateway TCP server (TCP, or TLS terminated at the gateway) has no VirtualService tcp route bound to it: its connections are closed",
  JIBE2031:
    "CUSTOM policy names an extension provider mesh config does not define (or several providers): it denies what it matches",
  JIBE2050:
    "several ServiceEntries (or a Service and ServiceEntries) define one host and cannot merge (Istio keeps one per host for a namespace): the others are ignored for it",
  JIBE2060:
    "HTTPRoute parentRef does not attach (no such listener, not allowed by allowedRoutes, or no hostname in common): Accepted is False there",
  JIBE2061:
    "HTTPRoute backendRef does not resolve (not a Service, no such Service or port, or another namespace without a ReferenceGrant): requests for it answer 500",
  JIBE2062: "HTTPRoute filter Jibe does not implement (ExtensionRef): requests the rule matches answer 500",
  JIBE2063:
    "VirtualService for a Service that mesh (GAMMA) HTTPRoutes attach to: the HTTPRoutes route it for sidecars, the VirtualService is ignored there",
  JIBE2064:
    "several TCPRoutes attach to one Gateway TCP listener: the oldest forwards its connections, the others are ignored there",
  JIBE2065:
    "Gateway HTTPS listener certificateRef or TLS setting Jibe cannot serve (not a Secret, another namespace without a ReferenceGrant, frontendValidation): without a usable certificate the listener is not served",
} as const;

/** A code from {@link COMPILE_DIAGNOSTIC_CODES}. */
export type CompileDiagnosticCode = keyof typeof COMPILE_DIAGNOSTIC_CODES;

/** Builds a compile diagnostic. */
export function compileDiagnostic(
  severity: Diagnostic["severity"],
  code: CompileDiagnosticCode,
  resource: string,
  path: string,
  message: string,
): Diagnostic {
  return { severity, code, resource, path, message };
}
