import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * Test support: Prometheus' `promtool` (Debian package `prometheus`). Tests that check metric
 * endpoints FAIL when it is missing, never skip: an unchecked exposition format is how dashboards
 * silently break.
 */

/** Path of `promtool` ($PROMTOOL, else on $PATH); throws with how to install it. */
export function findPromtool(): string {
  return findExecutable("promtool", process.env.PROMTOOL);
}

/**
 * Path of a Prometheus tool: `explicit` if given, else `name` on $PATH. Throws naming the Debian
 * package that provides it.
 */
export function findExecutable(name: string, explicit: string | undefined): string {
  const candidates = explicit
    ? [explicit]
    : (process.env.PATH ?? "").split(delimiter).map((d) => join(d, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new Error(
    `${name} not found (looked at ${explicit ? explicit : "$PATH"}): install it with \`apt-get install -y prometheus\` (Debian/Ubuntu)`,
  );
}

/** promtool's exit status for lint findings (as opposed to 1 for a format error). */
const LINT_FINDINGS = 3;

/**
 * Lint findings Istio's own metric names trigger and that Jibe keeps on purpose: renaming
 * `istio_request_duration_milliseconds` to seconds would break every Istio dashboard and alert.
 */
export const ISTIO_NAME_LINTS: readonly RegExp[] = [
  /^istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"$/,
];

/**
 * Runs `promtool check metrics` on a text exposition. `ok` is true when promtool accepts it, or
 * when its only findings are lints matched by `allowedLints` (a format error is never allowed).
 */
export function checkMetrics(
  text: string,
  allowedLints: readonly RegExp[] = [],
): { ok: boolean; status: number | null; problems: string[] } {
  const run = spawnSync(findPromtool(), ["check", "metrics"], { input: text, encoding: "utf8" });
  if (run.error) throw run.error;
  const problems = `${run.stdout}${run.stderr}`
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  const onlyAllowed = problems.every((p) => allowedLints.some((allowed) => allowed.test(p)));
  const ok = run.status === 0 || (run.status === LINT_FINDINGS && onlyAllowed);
  return { ok, status: run.status, problems: problems.filter((p) => !allowedLints.some((a) => a.test(p))) };
}
