import type { PathSegment, Reporter } from "./diagnostics.ts";
import { checkDestination, checkGatewayName, checkHttpRoute } from "./http-route-checks.ts";
import { parseIpBlock } from "./ip-block.ts";
import { checkLabels, checkPort } from "./istio-fields.ts";
import { isIpAddress, wildcardDomainProblem } from "./names.ts";
import { MESH_GATEWAY, type VirtualServiceSpec } from "./virtual-service.ts";

/**
 * Istio's semantic rules for a VirtualService (ValidateVirtualService): hosts, gateways, one
 * action per rule, destinations and weights, regexes, plus its "unreachable rule" warnings.
 */
export function checkVirtualService(spec: VirtualServiceSpec, report: Reporter): void {
  const hosts = spec.hosts ?? [];
  const gateways = spec.gateways ?? [];
  const appliesToMesh = gateways.length === 0 || gateways.includes(MESH_GATEWAY);
  if (hosts.length === 0) {
    report.error(
      "JIBE1012",
      ["spec", "hosts"],
      'hosts is required (delegate VirtualServices are not supported yet); list the hosts, e.g. ["reviews"]',
    );
  }
  hosts.forEach((host, i) => {
    const problem = wildcardDomainProblem(host);
    if (problem && !isIpAddress(host)) report.error("JIBE1017", ["spec", "hosts", i], problem);
    else if (host === "*" && appliesToMesh) {
      report.error(
        "JIBE1017",
        ["spec", "hosts", i],
        'host "*" is not allowed for VirtualServices bound to the mesh; name the hosts, or bind it to a gateway with spec.gateways',
      );
    }
  });
  hosts.forEach((host, i) => {
    const j = hosts.indexOf(host);
    if (j !== i)
      report.error(
        "JIBE1018",
        ["spec", "hosts", i],
        `host "${host}" is listed twice (also at hosts[${j}]); remove one`,
      );
  });
  for (const [i, g] of gateways.entries()) checkGatewayName(g, ["spec", "gateways", i], report);
  if (!spec.http?.length && !spec.tcp?.length && !spec.tls?.length) {
    report.error("JIBE1012", ["spec"], "the VirtualService has no rules; add http (or tcp/tls) routes");
  }
  for (const [i, route] of (spec.http ?? []).entries()) checkHttpRoute(route, ["spec", "http", i], report);
  for (const field of ["tcp", "tls"] as const) {
    spec[field]?.forEach((route, i) => {
      if (!route.route?.length)
        report.error(
          "JIBE1012",
          ["spec", field, i, "route"],
          `${field} route needs at least one destination`,
        );
      for (const [j, d] of (route.route ?? []).entries()) {
        checkDestination(d.destination, ["spec", field, i, "route", j, "destination"], report);
      }
      if (field === "tls" && !route.match?.length)
        report.error(
          "JIBE1012",
          ["spec", "tls", i, "match"],
          'a tls route matches on SNI; add match: [{ sniHosts: ["db.example.com"] }]',
        );
      route.match?.forEach((m, j) => {
        if (field === "tls" && !m.sniHosts?.length)
          report.error(
            "JIBE1012",
            ["spec", "tls", i, "match", j, "sniHosts"],
            'a tls match needs sniHosts (the TLS server names it takes), e.g. ["db.example.com"]',
          );
        checkPort(m.port, ["spec", field, i, "match", j, "port"], report);
        checkLabels(m.sourceLabels, ["spec", field, i, "match", j, "sourceLabels"], report);
        for (const [k, subnet] of (m.destinationSubnets ?? []).entries())
          checkSubnet(subnet, ["spec", field, i, "match", j, "destinationSubnets", k], report);
        if (m.sourceSubnet !== undefined)
          checkSubnet(m.sourceSubnet, ["spec", field, i, "match", j, "sourceSubnet"], report);
      });
    });
  }
  warnUnreachableRules(spec, report);
}

/** Istio's ValidateIPSubnet: an IPv4/IPv6 address or CIDR block. */
function checkSubnet(subnet: string, path: readonly PathSegment[], report: Reporter): void {
  if (parseIpBlock(subnet) === undefined)
    report.error(
      "JIBE1024",
      path,
      `"${subnet}" is not an IP address or CIDR block; write e.g. "10.0.0.0/16" or "2001:db8::/32"`,
    );
}

/** Istio warns (not errors) when a rule can never match because an earlier rule catches everything. */
function warnUnreachableRules(spec: VirtualServiceSpec, report: Reporter): void {
  let catchAll: number | undefined;
  const seen = new Map<string, number>();
  spec.http?.forEach((route, i) => {
    const label = route.name ? `"${route.name}"` : `#${i}`;
    if (catchAll !== undefined) {
      report.warn(
        "JIBE1020",
        ["spec", "http", i],
        `rule ${label} is never used: rule #${catchAll} has no match and catches every request; move it last`,
      );
      return;
    }
    if (!route.match?.length) {
      catchAll = i;
      return;
    }
    let duplicates = 0;
    route.match.forEach((match, j) => {
      const { name: _name, ...rest } = match;
      const key = JSON.stringify(rest);
      const first = seen.get(key);
      if (first !== undefined) {
        duplicates++;
        report.warn(
          "JIBE1020",
          ["spec", "http", i, "match", j],
          `this match is never used: rule #${first} has the same match; remove it`,
        );
      } else seen.set(key, i);
    });
    if (duplicates === route.match.length) {
      report.warn(
        "JIBE1020",
        ["spec", "http", i],
        `rule ${label} is never used: all its matches are used by earlier rules`,
      );
    }
  });
}
