import type { StoredResource } from "../../broker/events.ts";
import { refOf } from "../../broker/payload-shape.ts";
import { validateDocuments } from "../model/validate.ts";
import type { ValidationReport } from "./types.ts";

/** A validation report plus the validated resources, ready to apply when `valid`. */
export interface CheckedDocuments extends ValidationReport {
  resourcesToApply: StoredResource[];
}

/**
 * Validates documents for an apply (pure), with the model's field-level checks (which also refuse a
 * resource given twice). `valid` is false on any error; warnings never block.
 *
 * @example
 * ```ts
 * const { valid, diagnostics } = checkDocuments(parseDocuments(text).documents);
 * ```
 */
export function checkDocuments(documents: readonly unknown[]): CheckedDocuments {
  const { resources, diagnostics } = validateDocuments(documents);
  return {
    valid: !diagnostics.some((d) => d.severity === "error"),
    resources: resources.map(refOf),
    diagnostics,
    resourcesToApply: resources,
  };
}
