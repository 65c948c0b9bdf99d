import type { StoredResource } from "../../broker/events.ts";
import { isSupportedKind } from "../model/kinds.ts";
import { validateResource } from "../model/validate.ts";
import { attachAuthz, createAuthzUnit } from "./authz-unit.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { withGatewayApiStreamServers } from "./gateway-api-streams.ts";
import { attachGatewayServers, gatewayServersOf } from "./gateway-servers.ts";
import { canonicalJson, contentHash } from "./hash.ts";
import { domainSuffix } from "./host-names.ts";
import { attachInboundProtocols, inboundProtocolsOf } from "./inbound-protocols.ts";
import { attachInboundTls, createInboundTlsUnit } from "./inbound-tls-unit.ts";
import { buildResourceIndex, resourceTokens } from "./resource-index.ts";
import type { Cluster, Diagnostic, ProxyIdentity, Snapshot, VirtualHost } from "./snapshot.ts";
import { planUnits, type UnitOutput } from "./units.ts";

/** The resource set a proxy holds (as `PolicyState` of broker/policy-sync gives it). */
export interface CompileInput {
  resources: ReadonlyMap<string, StoredResource>;
  changed: ReadonlySet<string>;
  revision: number;
}

/** Result of one incremental update; `changed` is false when the snapshot version is unchanged. */
export interface IncrementalResult {
  snapshot: Snapshot;
  diagnostics: Diagnostic[];
  changed: boolean;
}

/** Observes the compiler (tests, stats); never changes results. */
export interface CompilerHooks {
  /** Called each time a unit (`cluster|<fqdn>` or `vhost|<host>`) is rebuilt, not reused. */
  onUnitBuilt?(unitId: string): void;
}

/** An incremental compiler for one proxy; see {@link createIncrementalCompiler}. */
export interface IncrementalCompiler {
  update(state: CompileInput): IncrementalResult;
}

interface Checked {
  raw: StoredResource;
  /** The validated resource, when valid and of a kind the compiler uses. */
  resource?: StoredResource;
  diagnostics: Diagnostic[];
}

interface Memo {
  key: string;
  tokens: ReadonlySet<string>;
  output: UnitOutput;
}

/**
 * Creates a compiler that keeps the last result and, on each update, re-validates only changed
 * resources and rebuilds only units (a Service's clusters, a host's virtual host) whose dependency
 * tokens a changed resource touches and whose input content actually differs. Untouched units keep
 * their output objects (identity), so consumers can diff cheaply.
 *
 * Keys in `resources` are opaque (the config-store keys). A key missing from `changed` whose
 * resource object differs from the last one is treated as changed, so a sloppy caller gets a
 * correct, only slower, result.
 *
 * @example
 * ```ts
 * const compiler = createIncrementalCompiler(proxy);
 * const { snapshot, changed } = compiler.update({ resources, changed: new Set(["VirtualService.default.reviews"]), revision: 42 });
 * ```
 */
export function createIncrementalCompiler(
  proxy: ProxyIdentity,
  hooks: CompilerHooks = {},
): IncrementalCompiler {
  const suffix = domainSuffix(proxy);
  const proxyHash = contentHash(proxy);
  let checked = new Map<string, Checked>();
  let memo = new Map<string, Memo>();
  let lastVersion: string | undefined;
  const authzUnit = createAuthzUnit(proxy);
  const inboundTlsUnit = createInboundTlsUnit(proxy);

  const check = (raw: StoredResource): Checked => {
    if (!isSupportedKind(raw.kind)) {
      const ref = `${raw.kind}/${raw.metadata?.namespace}/${raw.metadata?.name}`;
      return {
        raw,
        diagnostics: [
          compileDiagnostic(
            "warning",
            "JIBE2006",
            ref,
            "kind",
            `kind ${raw.kind} is not used by the routing compiler; ignored`,
          ),
        ],
      };
    }
    const result = validateResource({
      apiVersion: raw.apiVersion,
      kind: raw.kind,
      metadata: raw.metadata,
      spec: raw.spec,
    });
    if (result.ok) return { raw, resource: result.resource, diagnostics: result.diagnostics };
    const ref = result.diagnostics[0]?.resource ?? raw.kind;
    const ignored = compileDiagnostic(
      "error",
      "JIBE2005",
      ref,
      "",
      `${ref} is invalid and ignored by this proxy (its routes fail closed); fix the errors reported for it and apply it again`,
    );
    return { raw, diagnostics: [...result.diagnostics, ignored] };
  };

  return {
    update(state) {
      const changedTokens = new Set<string>();
      const nextChecked = new Map<string, Checked>();
      const touch = (c: Checked | undefined) => {
        if (c?.resource) for (const t of resourceTokens(c.resource, suffix)) changedTokens.add(t);
      };
      for (const [key, raw] of state.resources) {
        const previous = checked.get(key);
        const same =
          previous !== undefined &&
          !state.changed.has(key) &&
          (previous.raw === raw || canonicalJson(previous.raw) === canonicalJson(raw));
        if (same) {
          nextChecked.set(key, previous);
          continue;
        }
        const next = check(raw);
        nextChecked.set(key, next);
        touch(previous);
        touch(next);
      }
      for (const [key, previous] of checked) if (!state.resources.has(key)) touch(previous);
      checked = nextChecked;

      const valid: [string, StoredResource][] = [];
      for (const [key, c] of checked) if (c.resource) valid.push([key, c.resource]);
      const index = buildResourceIndex(valid, suffix, proxy.namespace);

      const nextMemo = new Map<string, Memo>();
      for (const unit of planUnits({ index, proxy, suffix })) {
        const previous = memo.get(unit.id);
        if (previous && ![...previous.tokens].some((t) => changedTokens.has(t))) {
          nextMemo.set(unit.id, previous);
          continue;
        }
        const gathered = unit.gather();
        if (previous && previous.key === gathered.key) {
          nextMemo.set(unit.id, { ...previous, tokens: new Set(gathered.tokens) });
          continue;
        }
        hooks.onUnitBuilt?.(unit.id);
        nextMemo.set(unit.id, {
          key: gathered.key,
          tokens: new Set(gathered.tokens),
          output: gathered.build(),
        });
      }
      memo = nextMemo;

      const protocols = attachInboundProtocols(
        attachInboundTls(
          attachAuthz(
            assemble(proxy, proxyHash, state.revision, checked, memo),
            authzUnit.update(checked, index, suffix),
          ),
          inboundTlsUnit.update(checked),
        ),
        inboundProtocolsOf(index, proxy),
      );
      // Gateways: the servers of the Istio Gateways selecting them (the Node ingress gateway listens on
      // them) and the listeners (HTTP, HTTPS, TCP, TLS passthrough) of the Gateway API Gateways they implement.
      const servers = withGatewayApiStreamServers(
        gatewayServersOf(index, proxy, suffix),
        index,
        proxy,
        suffix,
      );
      const result = attachGatewayServers(protocols, servers);
      const changed = result.snapshot.version !== lastVersion;
      lastVersion = result.snapshot.version;
      return { ...result, changed };
    },
  };
}

function assemble(
  proxy: ProxyIdentity,
  proxyHash: string,
  revision: number,
  checked: ReadonlyMap<string, Checked>,
  memo: ReadonlyMap<string, Memo>,
): { snapshot: Snapshot; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  for (const key of [...checked.keys()].sort()) diagnostics.push(...(checked.get(key)?.diagnostics ?? []));
  const ids = [...memo.keys()].sort();
  const virtualHosts: VirtualHost[] = [];
  const clusterList: Cluster[] = [];
  const hashes: string[] = [];
  for (const id of ids) {
    const output = memo.get(id)?.output;
    if (!output) continue;
    diagnostics.push(...output.diagnostics);
    hashes.push(`${id}=${output.hash}`);
    if (output.virtualHost) virtualHosts.push(output.virtualHost);
    if (output.clusters) clusterList.push(...Object.values(output.clusters));
  }
  virtualHosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  clusterList.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const clusters: Record<string, Cluster> = {};
  for (const cluster of clusterList) clusters[cluster.name] = cluster;
  diagnostics.push(...duplicateDomains(virtualHosts));
  const version = contentHash({ proxy: proxyHash, units: hashes });
  return { snapshot: { version, revision, proxy, virtualHosts, clusters }, diagnostics };
}

function duplicateDomains(virtualHosts: readonly VirtualHost[]): Diagnostic[] {
  const owner = new Map<string, string>();
  const out: Diagnostic[] = [];
  for (const vh of virtualHosts) {
    for (const domain of vh.domains) {
      const first = owner.get(domain);
      if (first === undefined) owner.set(domain, vh.name);
      else if (first !== vh.name) {
        out.push(
          compileDiagnostic(
            "warning",
            "JIBE2010",
            `VirtualHost/${vh.name}`,
            "domains",
            `domain "${domain}" is also claimed by virtual host ${first}, which wins; requests for it never reach ${vh.name}`,
          ),
        );
      }
    }
  }
  return out;
}
