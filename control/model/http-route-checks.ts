import type { PathSegment, Reporter } from "./diagnostics.ts";
import { checkFault, checkRedirect, checkRetries, checkRewrite } from "./http-behaviour-checks.ts";
import {
  checkDuration,
  checkHeaderName,
  checkLabels,
  checkPercent,
  checkPort,
  checkStringMatch,
  type IstioDestination,
} from "./istio-fields.ts";
import { isDns1123Label, wildcardDomainProblem } from "./names.ts";
import type { HttpMatchRequest, HttpRoute, HttpRouteDestination } from "./virtual-service.ts";

/** Istio's semantic rules for one `http` entry of a VirtualService (pkg/config/validation). */
export function checkHttpRoute(route: HttpRoute, path: readonly PathSegment[], report: Reporter): void {
  checkRouteAction(route, path, report);
  for (const [i, match] of (route.match ?? []).entries()) checkMatch(match, [...path, "match", i], report);
  checkDestinations(route.route ?? [], [...path, "route"], report);
  if (route.mirror) checkDestination(route.mirror, [...path, "mirror"], report);
  route.mirrors?.forEach((m, i) => {
    checkDestination(m.destination, [...path, "mirrors", i, "destination"], report);
    checkPercent(m.percentage?.value, [...path, "mirrors", i, "percentage", "value"], report);
  });
  checkPercent(route.mirrorPercentage?.value, [...path, "mirrorPercentage", "value"], report);
  if (route.mirrorPercent !== undefined) {
    report.warn(
      "JIBE1021",
      [...path, "mirrorPercent"],
      "mirrorPercent is deprecated; use mirrorPercentage: { value: <0-100> }",
    );
  }
  checkDuration(route.timeout, [...path, "timeout"], report);
  checkRetries(route, path, report);
  checkFault(route, path, report);
  checkRedirect(route, path, report);
  checkRewrite(route, path, report);
  const status = route.directResponse?.status;
  if (status !== undefined && (status < 200 || status > 599)) {
    report.error(
      "JIBE1013",
      [...path, "directResponse", "status"],
      `status ${status} is not an HTTP status; use 200-599`,
    );
  }
  for (const [i, origin] of (route.corsPolicy?.allowOrigins ?? []).entries()) {
    checkStringMatch(origin, [...path, "corsPolicy", "allowOrigins", i], report);
  }
  checkDuration(route.corsPolicy?.maxAge, [...path, "corsPolicy", "maxAge"], report);
}

function checkRouteAction(route: HttpRoute, path: readonly PathSegment[], report: Reporter): void {
  if (route.delegate) {
    report.error(
      "JIBE1016",
      [...path, "delegate"],
      "delegate VirtualServices are not supported yet; inline the delegate's http routes here",
    );
    return;
  }
  const actions = [
    route.route?.length ? "route" : undefined,
    route.redirect ? "redirect" : undefined,
    route.directResponse ? "directResponse" : undefined,
  ].filter((a): a is string => a !== undefined);
  if (actions.length === 0) {
    report.error(
      "JIBE1016",
      path,
      "the rule has no action; add route (destinations), redirect or directResponse",
    );
  } else if (actions.length > 1) {
    report.error("JIBE1016", path, `the rule has both ${actions.join(" and ")}; keep exactly one of them`);
  }
  for (const other of ["fault", "rewrite"] as const) {
    if (route[other] && (route.redirect || route.directResponse)) {
      report.error(
        "JIBE1016",
        [...path, other],
        `${other} cannot be combined with ${route.redirect ? "redirect" : "directResponse"}; remove one`,
      );
    }
  }
  if (route.mirror && route.mirrors?.length) {
    report.error(
      "JIBE1016",
      [...path, "mirror"],
      "use either mirror or mirrors, not both; move mirror into mirrors",
    );
  }
}

function checkMatch(match: HttpMatchRequest, path: readonly PathSegment[], report: Reporter): void {
  checkStringMatch(match.uri, [...path, "uri"], report, { allowEmpty: true, allowEmptyPrefix: true });
  for (const field of ["scheme", "method", "authority"] as const) {
    checkStringMatch(match[field], [...path, field], report, { allowEmpty: true });
  }
  for (const [name, value] of Object.entries(match.headers ?? {})) {
    checkHeaderName(name, [...path, "headers", name], report);
    checkStringMatch(value, [...path, "headers", name], report, { allowEmpty: true });
  }
  for (const [name, value] of Object.entries(match.withoutHeaders ?? {})) {
    checkHeaderName(name, [...path, "withoutHeaders", name], report);
    // Istio reads regex "*" here as "header present", not as a regex.
    if (value.regex !== "*")
      checkStringMatch(value, [...path, "withoutHeaders", name], report, { allowEmpty: true });
  }
  for (const [name, value] of Object.entries(match.queryParams ?? {})) {
    checkStringMatch(value, [...path, "queryParams", name], report, { allowEmpty: true });
  }
  checkPort(match.port, [...path, "port"], report);
  checkLabels(match.sourceLabels, [...path, "sourceLabels"], report);
  for (const [i, g] of (match.gateways ?? []).entries())
    checkGatewayName(g, [...path, "gateways", i], report);
  if (match.sourceNamespace !== undefined && !isDns1123Label(match.sourceNamespace)) {
    report.error(
      "JIBE1013",
      [...path, "sourceNamespace"],
      `sourceNamespace "${match.sourceNamespace}" is not a valid namespace name`,
    );
  }
}

/** Istio's weight rules: every weight >= 0 and, with several destinations, a total above 0. */
function checkDestinations(
  destinations: readonly HttpRouteDestination[],
  path: readonly PathSegment[],
  report: Reporter,
): void {
  let total = 0;
  destinations.forEach((d, i) => {
    checkDestination(d.destination, [...path, i, "destination"], report);
    const weight = d.weight ?? 0;
    if (weight < 0)
      report.error("JIBE1015", [...path, i, "weight"], `weight ${weight} is negative; use 0 or more`);
    total += Math.max(0, weight);
  });
  if (destinations.length > 1 && total === 0) {
    report.error(
      "JIBE1015",
      path,
      "with several destinations the total weight is 0, so no destination would get traffic; give each destination a weight, e.g. 80 and 20",
    );
  }
}

/** Istio's destination rules: a valid host other than "*", a DNS-1123 subset name, a valid port. */
export function checkDestination(
  destination: IstioDestination,
  path: readonly PathSegment[],
  report: Reporter,
): void {
  const host = destination.host;
  const problem =
    host === "*"
      ? 'destination host "*" is not allowed; name a service host such as "reviews"'
      : wildcardDomainProblem(host);
  if (problem) report.error("JIBE1017", [...path, "host"], problem);
  if (destination.subset !== undefined && !isDns1123Label(destination.subset)) {
    report.error(
      "JIBE1013",
      [...path, "subset"],
      `subset name "${destination.subset}" is invalid; use a DNS-1123 label such as "v1"`,
    );
  }
  checkPort(destination.port?.number, [...path, "port", "number"], report);
}

/** Checks a gateway reference: `name`, `namespace/name`, legacy FQDN, or `mesh`. */
export function checkGatewayName(name: string, path: readonly PathSegment[], report: Reporter): void {
  const parts = name.split("/");
  const valid =
    parts.length === 2
      ? parts.every((p) => isDns1123Label(p))
      : parts.length === 1 && wildcardDomainProblem(name) === undefined;
  if (!valid) {
    report.error(
      "JIBE1013",
      path,
      `gateway "${name}" is invalid; use "<namespace>/<name>", "<name>" or "mesh"`,
    );
  }
}
