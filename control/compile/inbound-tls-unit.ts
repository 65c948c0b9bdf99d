import { contentHash } from "./hash.ts";
import { type CheckedPeerAuthentication, compileInboundTls } from "./peer-authentication.ts";
import type { Diagnostic, InboundTls, ProxyIdentity, Snapshot } from "./snapshot.ts";

interface InboundTlsOutput {
  inboundTls?: InboundTls;
  diagnostics: Diagnostic[];
  hash?: string;
}

/**
 * Memoised PeerAuthentication compilation for one proxy: recompiles only when a PeerAuthentication
 * object changed identity (the incremental compiler keeps unchanged ones by identity).
 *
 * @example
 * ```ts
 * const unit = createInboundTlsUnit(proxy);
 * const result = attachInboundTls(assembled, unit.update(checked));
 * ```
 */
export function createInboundTlsUnit(proxy: ProxyIdentity): {
  update(checked: ReadonlyMap<string, CheckedPeerAuthentication>): InboundTlsOutput;
} {
  let lastInputs: readonly CheckedPeerAuthentication[] = [];
  let last: InboundTlsOutput = { diagnostics: [] };
  return {
    update(checked) {
      const inputs = [...checked.keys()]
        .sort()
        .map((k) => checked.get(k)!)
        .filter((c) => c.raw.kind === "PeerAuthentication");
      if (inputs.length === lastInputs.length && inputs.every((c, i) => c === lastInputs[i])) return last;
      const { inboundTls, diagnostics } = compileInboundTls(inputs, proxy);
      lastInputs = inputs;
      last = inboundTls ? { inboundTls, diagnostics, hash: contentHash(inboundTls) } : { diagnostics };
      return last;
    },
  };
}

/** Adds the inbound TLS output; without PeerAuthentication the snapshot and version are unchanged. */
export function attachInboundTls(
  result: { snapshot: Snapshot; diagnostics: Diagnostic[] },
  output: InboundTlsOutput,
): { snapshot: Snapshot; diagnostics: Diagnostic[] } {
  const diagnostics = output.diagnostics.length
    ? [...result.diagnostics, ...output.diagnostics]
    : result.diagnostics;
  if (!output.inboundTls || output.hash === undefined) return { ...result, diagnostics };
  const version = contentHash({ snapshot: result.snapshot.version, inboundTls: output.hash });
  return { snapshot: { ...result.snapshot, version, inboundTls: output.inboundTls }, diagnostics };
}
