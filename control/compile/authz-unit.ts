import {
  type CheckedSecurityResource,
  compileAuthz,
  isMeshConfigMap,
  SECURITY_KINDS,
} from "./authz-policies.ts";
import type { AuthzSnapshot } from "./authz-snapshot.ts";
import { contentHash } from "./hash.ts";
import { serviceFqdn } from "./host-names.ts";
import type { ResourceIndex } from "./resource-index.ts";
import type { Diagnostic, ProxyIdentity, Snapshot } from "./snapshot.ts";

interface AuthzOutput {
  authz?: AuthzSnapshot;
  diagnostics: Diagnostic[];
  hash?: string;
}

/** The incremental compiler's authz step; see {@link createAuthzUnit}. */
export interface AuthzUnit {
  /** Recompiles only when a security resource (or, for Service targets, a Service) changed identity. */
  update(
    checked: ReadonlyMap<string, CheckedSecurityResource>,
    index: ResourceIndex,
    suffix: string,
  ): AuthzOutput;
}

/**
 * Memoised authz compilation for one proxy: the inputs are the checked resource objects, which the
 * incremental compiler keeps by identity while unchanged, so an update that touches no security
 * resource reuses the previous output (and its hash) without recompiling or rehashing.
 *
 * @example
 * ```ts
 * const unit = createAuthzUnit(proxy);
 * const { authz, hash } = unit.update(checked, index, "cluster.local");
 * ```
 */
export function createAuthzUnit(proxy: ProxyIdentity): AuthzUnit {
  let lastInputs: readonly unknown[] = [];
  let last: AuthzOutput = { diagnostics: [] };
  return {
    update(checked, index, suffix) {
      const security: CheckedSecurityResource[] = [];
      const services: CheckedSecurityResource[] = [];
      for (const c of [...checked.keys()].sort().map((k) => checked.get(k)!)) {
        if (SECURITY_KINDS.has(c.raw.kind) || isMeshConfigMap(c.raw)) security.push(c);
        else if (c.raw.kind === "Service") services.push(c);
      }
      const targetsServices = security.some((c) => targetsService(c.raw.spec));
      const inputs = targetsServices ? [...security, ...services] : security;
      if (sameIdentities(inputs, lastInputs)) return last;
      const lookup = (namespace: string, name: string) =>
        index.services.get(serviceFqdn(name, namespace, suffix))?.spec.selector;
      const { authz, diagnostics } = compileAuthz(security, proxy, lookup);
      lastInputs = inputs;
      last = authz ? { authz, diagnostics, hash: contentHash(authz) } : { diagnostics };
      return last;
    },
  };
}

/**
 * Adds the authz output to an assembled snapshot. Without security resources the snapshot (and its
 * version) is exactly what it was before authz existed.
 */
export function attachAuthz(
  result: { snapshot: Snapshot; diagnostics: Diagnostic[] },
  output: AuthzOutput,
): { snapshot: Snapshot; diagnostics: Diagnostic[] } {
  if (!output.authz || output.hash === undefined) {
    return output.diagnostics.length
      ? { ...result, diagnostics: [...result.diagnostics, ...output.diagnostics] }
      : result;
  }
  const version = contentHash({ routing: result.snapshot.version, authz: output.hash });
  return {
    snapshot: { ...result.snapshot, version, authz: output.authz },
    diagnostics: [...result.diagnostics, ...output.diagnostics],
  };
}

function targetsService(spec: unknown): boolean {
  const { targetRef, targetRefs } = (spec ?? {}) as { targetRef?: { kind?: unknown }; targetRefs?: unknown };
  const refs = [targetRef, ...(Array.isArray(targetRefs) ? targetRefs : [])];
  return refs.some((r) => (r as { kind?: unknown } | undefined)?.kind === "Service");
}

function sameIdentities(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
