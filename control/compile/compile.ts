import type { StoredResource } from "../../broker/events.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { createIncrementalCompiler } from "./incremental.ts";
import type { Diagnostic, ProxyIdentity, Snapshot } from "./snapshot.ts";

/**
 * Compiles a resource set into one proxy's snapshot. Pure: everything comes in through the
 * arguments. Invalid resources are re-validated, reported and ignored (their routes fail closed);
 * nothing is half-applied. Same input, same `snapshot.version`, in every runtime.
 *
 * @example
 * ```ts
 * const { snapshot, diagnostics } = compile(resources, { id: "sidecar~productpage~default", role: "sidecar",
 *   namespace: "default", labels: { app: "productpage" } }, 42);
 * ```
 */
export function compile(
  resources: Iterable<StoredResource>,
  proxy: ProxyIdentity,
  revision = 0,
): { snapshot: Snapshot; diagnostics: Diagnostic[] } {
  const map = new Map<string, StoredResource>();
  const duplicates: Diagnostic[] = [];
  for (const resource of resources) {
    const key = `${resource.kind}/${resource.metadata?.namespace}/${resource.metadata?.name}`;
    if (map.has(key))
      duplicates.push(
        compileDiagnostic("warning", "JIBE2012", key, "", `${key} was given twice; the first is used`),
      );
    else map.set(key, resource);
  }
  const { snapshot, diagnostics } = createIncrementalCompiler(proxy).update({
    resources: map,
    changed: new Set(map.keys()),
    revision,
  });
  return { snapshot, diagnostics: [...diagnostics, ...duplicates] };
}
