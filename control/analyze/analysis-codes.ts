/**
 * Every code `jibe analyze` reports (JIBE3xxx; validation is JIBE1xxx, compilation JIBE2xxx). Codes
 * are stable: tools and docs refer to them, so a code is never reused for another meaning. The Istio
 * analyzer message each corresponds to is in brackets.
 */
export const ANALYSIS_CODES = {
  JIBE3001:
    "route names a subset no DestinationRule for that host defines: that destination answers 503 [IST0101]",
  JIBE3002:
    "DestinationRule subset selects no endpoint of its host (no workload has those labels) [IST0134-like]",
  JIBE3003: "VirtualService host is not a Service of the mesh (typo, or a missing ServiceEntry) [IST0101]",
  JIBE3004: "route destination host is not a Service of the mesh: that destination answers 503 [IST0101]",
  JIBE3005: "namespace is not enabled for injection: its Pods run without a proxy [IST0102]",
  JIBE3006:
    "Service port declares no protocol (name it <protocol>[-suffix] or set appProtocol): treated as opaque TCP [IST0118]",
  JIBE3007:
    "several DestinationRules for the same host in one namespace: only the oldest applies [IST0174-like]",
  JIBE3008: "several VirtualServices for the same host (mesh): only the oldest applies [IST0109]",
  JIBE3009: "VirtualService is bound to a Gateway that does not exist [IST0101]",
} as const;

/** A code from {@link ANALYSIS_CODES}. */
export type AnalysisCode = keyof typeof ANALYSIS_CODES;
