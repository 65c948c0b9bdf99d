import type { KubernetesGatewaySpec } from "../model/gateway-api.ts";
import { GATEWAY_API_GROUP, type Listener, type SecretObjectRef } from "../model/gateway-api.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import type { Indexed, ResourceIndex } from "./resource-index.ts";
import type { Diagnostic, GatewayServerConfig, GatewayServerTls, ProxyIdentity } from "./snapshot.ts";

/**
 * Gateway API `HTTP` and `HTTPS` listeners as gateway servers, the shape Istio Gateway servers
 * compile to, so the Node gateway opens their ports and routes them with the HTTPRoutes and
 * GRPCRoutes attached there (compiled to virtual hosts by `gateway-api-units.ts`). An `HTTPS`
 * listener terminates TLS (Istio's SIMPLE) with its `certificateRefs`: Secrets the gateway reads
 * as Istio Gateway `credentialName`s (`<dir>/<name>/tls.crt`, `tls.key`), its `hostname` choosing
 * the certificate by SNI. A Secret in another namespace needs a ReferenceGrant there and is read
 * at `<dir>/<namespace>/<name>/`.
 */

/**
 * The HTTP and HTTPS servers of the Gateway API Gateways a gateway proxy implements
 * (`proxy.gateways`), with the listeners it cannot serve reported (JIBE2065).
 *
 * @example
 * ```ts
 * gatewayApiHttpServers(index, { id: "gw", role: "gateway", namespace: "infra", labels: {}, gateways: ["infra/web"] });
 * // { servers: [{ origin: "KubernetesGateway/infra/web#https", port: 443, protocol: "HTTPS",
 * //   hosts: ["shop.example.com"], tls: { mode: "SIMPLE", credentialName: "shop-cert" } }], diagnostics: [] }
 * ```
 */
export function gatewayApiHttpServers(
  index: ResourceIndex,
  proxy: ProxyIdentity,
): { servers: GatewayServerConfig[]; diagnostics: Diagnostic[] } {
  const servers: GatewayServerConfig[] = [];
  const diagnostics: Diagnostic[] = [];
  if (proxy.role !== "gateway") return { servers, diagnostics };
  for (const key of proxy.gateways ?? []) {
    const gateway = index.gatewayApi.gateways.get(key);
    if (!gateway) continue;
    gateway.spec.listeners.forEach((listener, i) => {
      const hosts = [listener.hostname?.toLowerCase() ?? "*"];
      const origin = `${gateway.ref}#${listener.name}`;
      if (listener.protocol === "HTTP")
        servers.push({ origin, port: listener.port, protocol: "HTTP", hosts });
      if (listener.protocol !== "HTTPS") return;
      const tls = terminateTls(gateway, listener, `spec.listeners[${i}].tls`, index, diagnostics);
      if (tls) servers.push({ origin, port: listener.port, protocol: "HTTPS", hosts, tls });
    });
  }
  return { servers, diagnostics };
}

/** A Kubernetes object name (DNS subdomain): never a path. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The SIMPLE settings of an HTTPS listener; undefined (reported) when no certificate is usable. */
function terminateTls(
  gateway: Indexed<KubernetesGatewaySpec>,
  listener: Listener,
  at: string,
  index: ResourceIndex,
  diagnostics: Diagnostic[],
): GatewayServerTls | undefined {
  const report = (path: string, message: string) =>
    diagnostics.push(compileDiagnostic("error", "JIBE2065", gateway.ref, path, message));
  if (listener.tls?.frontendValidation !== undefined) {
    // Serving without the client certificate checks the listener asks for would fail open.
    report(
      `${at}.frontendValidation`,
      `listener ${listener.name}: client certificate validation is not implemented by Jibe's Gateway API listeners, so the listener is not served; use an Istio Gateway server with tls.mode MUTUAL`,
    );
    return undefined;
  }
  const names: string[] = [];
  (listener.tls?.certificateRefs ?? []).forEach((ref, j) => {
    const name = credentialOf(ref, gateway.namespace, index);
    if (typeof name === "string") names.push(name);
    else report(`${at}.certificateRefs[${j}]`, `listener ${listener.name}: ${name.why}`);
  });
  if (names.length === 0) {
    report(
      `${at}.certificateRefs`,
      `listener ${listener.name}: no usable certificateRef, so the listener is not served (ResolvedRefs: False); name a Secret of namespace ${gateway.namespace}`,
    );
    return undefined;
  }
  return names.length === 1
    ? { mode: "SIMPLE", credentialName: names[0] as string }
    : { mode: "SIMPLE", credentialNames: names };
}

/** The credential name of a certificateRef, or why it cannot be used (InvalidCertificateRef / RefNotPermitted). */
function credentialOf(
  ref: SecretObjectRef,
  gatewayNamespace: string,
  index: ResourceIndex,
): string | { why: string } {
  const group = ref.group ?? "";
  const kind = ref.kind ?? "Secret";
  if ((group !== "" && group !== "core") || kind !== "Secret")
    return { why: `${group || "core"}/${kind} is not a Secret (InvalidCertificateRef); refer to a Secret` };
  const namespace = ref.namespace ?? gatewayNamespace;
  if (!OBJECT_NAME.test(ref.name) || !OBJECT_NAME.test(namespace))
    return { why: `"${namespace}/${ref.name}" is not a Kubernetes object name (InvalidCertificateRef)` };
  if (namespace === gatewayNamespace) return ref.name;
  const granted = index.gatewayApi.referenceGrants.some(
    (grant) =>
      grant.namespace === namespace &&
      grant.spec.from.some(
        (f) => f.group === GATEWAY_API_GROUP && f.kind === "Gateway" && f.namespace === gatewayNamespace,
      ) &&
      grant.spec.to.some(
        (t) =>
          (t.group === "" || t.group === "core") &&
          t.kind === "Secret" &&
          (t.name === undefined || t.name === ref.name),
      ),
  );
  if (!granted)
    return {
      why: `Secret ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows Gateways of ${gatewayNamespace} (RefNotPermitted); add one or copy the Secret`,
    };
  return `${namespace}/${ref.name}`;
}
