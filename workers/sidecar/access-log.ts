import { evaluateFilter } from "../../control/model/telemetry-expression.ts";
import {
  type AccessLogPolicy,
  accessLogEntry,
  type RequestRecord,
  recordAttributes,
} from "../telemetry/index.ts";

/**
 * Writes one JSON line per completed request (Envoy-style fields, see `accessLogEntry`) when the
 * reporter's access logging is on and its filter, if any, passes.
 *
 * @example
 * ```ts
 * const accessLog = createAccessLog((line) => process.stdout.write(line));
 * accessLog(record, policy.accessLogging[record.reporter]);
 * ```
 */
export function createAccessLog(
  write: (line: string) => void,
): (record: RequestRecord, policy: AccessLogPolicy) => void {
  return (record, policy) => {
    if (!policy.enabled) return;
    if (policy.filter && !evaluateFilter(policy.filter, recordAttributes(record))) return;
    write(`${JSON.stringify(accessLogEntry(record))}\n`);
  };
}
