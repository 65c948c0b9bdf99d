import type {
  HeaderOperations,
  HeaderPolicy,
  Route,
  WeightedCluster,
} from "../../control/compile/snapshot.ts";

/**
 * Where header operations are applied. The Fetch API's `Headers` fits as is; the sidecar wraps
 * Node's header objects in the same three methods.
 */
export interface HeaderEditor {
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  delete(name: string): void;
}

/**
 * Applies one set of operations: remove first, then set (replace), then add (append), as Envoy
 * evaluates `headers_to_remove` before `headers_to_add`.
 *
 * @example
 * ```ts
 * const headers = new Headers({ "x-a": "1" });
 * applyHeaderOperations(headers, { set: { "x-a": "2" }, add: { "x-b": "3" } }); // x-a: 2, x-b: 3
 * ```
 */
export function applyHeaderOperations(editor: HeaderEditor, ops: HeaderOperations | undefined): void {
  if (!ops) return;
  for (const name of ops.remove ?? []) editor.delete(name);
  for (const [name, value] of Object.entries(ops.set ?? {})) editor.set(name, value);
  for (const [name, value] of Object.entries(ops.add ?? {})) editor.append(name, value);
}

/**
 * The header policies that apply to a routed request, in the order to apply them: the chosen
 * destination's first, then the route's, so the route's win (Envoy's default, most specific
 * first but least specific last).
 */
export function headerPoliciesFor(route: Route, destination?: WeightedCluster): HeaderPolicy[] {
  const out: HeaderPolicy[] = [];
  if (destination?.headers) out.push(destination.headers);
  if (route.headers) out.push(route.headers);
  return out;
}

/** Applies the request (or response) side of several policies in order. */
export function applyHeaderPolicies(
  editor: HeaderEditor,
  policies: readonly HeaderPolicy[],
  side: "request" | "response",
): void {
  for (const policy of policies) applyHeaderOperations(editor, policy[side]);
}

/**
 * A {@link HeaderEditor} over a plain record of lower-case names (Node's header objects); several
 * values of a header become an array.
 */
export function recordHeaderEditor(
  record: Record<string, string | number | string[] | undefined>,
): HeaderEditor {
  return {
    set(name, value) {
      record[name] = value;
    },
    append(name, value) {
      const prior = record[name];
      if (prior === undefined) record[name] = value;
      else record[name] = [...(Array.isArray(prior) ? prior : [String(prior)]), value];
    },
    delete(name) {
      delete record[name];
    },
  };
}
