import { z } from "zod";

/**
 * A Kubernetes Namespace, kept for its labels: Gateway listeners select the namespaces routes may
 * attach from by them (`allowedRoutes.namespaces.from: Selector`). A manifest without `spec` is
 * stored with an empty one; the Kubernetes adapter publishes every Namespace it watches.
 */

/** Namespace spec (`finalizers` only, as Kubernetes has it). */
export const namespaceSpecSchema = z.strictObject({
  finalizers: z.array(z.string()).optional(),
});
export type NamespaceSpec = z.infer<typeof namespaceSpecSchema>;

/**
 * A Namespace has nothing to check beyond its metadata.
 *
 * @example
 * ```ts
 * checkNamespace({}); // no diagnostics
 * ```
 */
export function checkNamespace(_spec: NamespaceSpec): void {}
