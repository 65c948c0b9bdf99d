/**
 * A tiny RFC 6902 applier (add, replace, remove, test) for tests: the injector's patches are
 * asserted by applying them to the Pod and looking at the result, as the API server would.
 *
 * @example
 * ```ts
 * const injected = applyJsonPatch(pod, patch) as Pod;
 * ```
 */
export function applyJsonPatch(
  document: unknown,
  operations: readonly { op: string; path: string; value?: unknown }[],
): unknown {
  let root = structuredClone(document);
  for (const operation of operations) {
    const tokens = operation.path
      .split("/")
      .slice(1)
      .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = tokens.pop();
    if (last === undefined) {
      root = structuredClone(operation.value);
      continue;
    }
    let parent: unknown = root;
    for (const token of tokens) {
      parent = (parent as Record<string, unknown>)[token];
      if (parent === null || typeof parent !== "object")
        throw new Error(`${operation.path}: ${token} does not exist`);
    }
    apply(parent as Record<string, unknown> | unknown[], last, operation);
  }
  return root;
}

function apply(
  parent: Record<string, unknown> | unknown[],
  key: string,
  operation: { op: string; path: string; value?: unknown },
): void {
  const value = structuredClone(operation.value);
  if (Array.isArray(parent)) {
    const index = key === "-" ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length)
      throw new Error(`${operation.path}: bad index`);
    if (operation.op === "add") parent.splice(index, 0, value);
    else if (operation.op === "replace" && index < parent.length) parent[index] = value;
    else if (operation.op === "remove" && index < parent.length) parent.splice(index, 1);
    else throw new Error(`${operation.path}: cannot ${operation.op}`);
    return;
  }
  const exists = Object.hasOwn(parent, key);
  if (operation.op === "add") parent[key] = value;
  else if (operation.op === "replace" && exists) parent[key] = value;
  else if (operation.op === "remove" && exists) delete parent[key];
  else if (operation.op === "test" && JSON.stringify(parent[key]) === JSON.stringify(value)) return;
  else throw new Error(`${operation.path}: cannot ${operation.op}`);
}
