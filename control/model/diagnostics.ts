import type { Diagnostic } from "../compile/snapshot.ts";

/**
 * Every diagnostic code the model (validation) emits, with what it means. Codes are stable:
 * tools and docs refer to them, so a code is never reused for another meaning.
 */
export const MODEL_DIAGNOSTIC_CODES = {
  JIBE1001: "input is not valid YAML or JSON",
  JIBE1002: "document is not a Kubernetes-style object (apiVersion/kind missing or not strings)",
  JIBE1003: "unknown kind",
  JIBE1004: "kind is known (Istio, Gateway API or Kubernetes) but not supported by Jibe yet",
  JIBE1005: "apiVersion is not accepted for this kind",
  JIBE1006: "invalid metadata (name, namespace, labels or annotations)",
  JIBE1007: "spec is missing or not an object",
  JIBE1010: "field has the wrong type",
  JIBE1011: "unknown field (Istio rejects unknown fields)",
  JIBE1012: "required field is missing",
  JIBE1013: "invalid value",
  JIBE1014: "regular expression does not compile or uses features RE2 (Istio/Envoy) rejects",
  JIBE1015: "invalid destination weights",
  JIBE1016: "conflicting or missing route action (route, redirect, directResponse, delegate)",
  JIBE1017: "invalid host name",
  JIBE1018: "duplicate entry",
  JIBE1019: "invalid duration",
  JIBE1020: "unreachable rule (warning)",
  JIBE1021: "deprecated field (warning)",
  JIBE1022: "fields that cannot be used together (e.g. serviceAccounts with principals or namespaces)",
  JIBE1023: "invalid authorization path or path template ({*}, {**})",
  JIBE1024: "invalid IP address or CIDR block",
  JIBE1025: "invalid JWT key source (jwks / jwksUri)",
  JIBE1026: "unknown authorization condition key",
  JIBE1027: "invalid mesh config (ConfigMap istio-system/istio, data.mesh)",
  JIBE1028:
    "not supported by Jibe (another ingress controller's annotation, a regex Ingress path, a resource backend): remove it and use what the message names",
  JIBE1040: "dangling reference: a VirtualService is bound to a Gateway that does not exist (warning)",
} as const;

/** A code from {@link MODEL_DIAGNOSTIC_CODES}. */
export type ModelDiagnosticCode = keyof typeof MODEL_DIAGNOSTIC_CODES;

/** One step of a field path: an object key or an array index. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Formats a field path the way users read it: `spec.http[0].match[0].headers["end-user"]`.
 *
 * @example
 * ```ts
 * formatPath(["spec", "http", 0, "route"]); // "spec.http[0].route"
 * ```
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Collects diagnostics for one resource; checks call `error`/`warn` with a path and a message
 * that says what is wrong and how to fix it.
 *
 * @example
 * ```ts
 * const report = createReporter("VirtualService/default/reviews");
 * report.error("JIBE1013", ["spec", "hosts", 0], 'host "" is empty; set a host such as "reviews"');
 * report.diagnostics.length; // 1
 * ```
 */
export interface Reporter {
  readonly resource: string;
  readonly diagnostics: Diagnostic[];
  error(code: ModelDiagnosticCode, path: readonly PathSegment[], message: string): void;
  warn(code: ModelDiagnosticCode, path: readonly PathSegment[], message: string): void;
}

/** Creates a {@link Reporter} for the resource named `Kind/namespace/name`. */
export function createReporter(resource: string): Reporter {
  const diagnostics: Diagnostic[] = [];
  const add =
    (severity: Diagnostic["severity"]) => (code: string, path: readonly PathSegment[], message: string) => {
      diagnostics.push({ severity, code, resource, path: formatPath(path), message });
    };
  return { resource, diagnostics, error: add("error"), warn: add("warning") };
}

/** True when any diagnostic is an error (warnings never block). */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}
