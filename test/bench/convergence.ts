import type { NatsConnection } from "@nats-io/nats-core";
import { createVerifier, openEvent } from "../../broker/envelope.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { startPolicySync } from "../../broker/policy-sync.ts";
import { createIncrementalCompiler } from "../../control/compile/incremental.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { buildRouteTable } from "../../workers/engine/index.ts";
import { percentile } from "./stats.ts";

/**
 * Config convergence: time from an admin-API apply until N proxies (each with its own NATS
 * connection, running the sidecar's apply path: verify → policy sync → incremental compile →
 * route table) have applied it; side by side with raw NATS fan-out of the same payload to the same
 * N connections, in the same run.
 */

export interface ConvergenceResult {
  proxies: number;
  rounds: number;
  /** Per-proxy latency over all rounds. */
  jibe: { p50: number; p99: number; lastP50: number; lastP99: number };
  raw: { p50: number; p99: number; lastP50: number; lastP99: number };
  payloadBytes: number;
  /** CPU cost of one proxy applying one event (verify + open + incremental compile + route table), µs. */
  applyCostUs: { p50: number; p99: number };
}

export interface ConvergenceSetup {
  natsUrl: string;
  adminUrl: string;
  token: string;
  trustJwks: { keys: object[] };
}

const proxyTemplate = (i: number): ProxyIdentity => ({
  id: `bench-${i}`,
  role: "sidecar",
  namespace: "bench",
  labels: { app: "client" },
});

/** Runs `rounds` applies against `proxies` simulated proxies and the raw fan-out baseline. */
export async function measureConvergence(
  setup: ConvergenceSetup,
  proxies: number,
  rounds: number,
): Promise<ConvergenceResult> {
  const connections: NatsConnection[] = [];
  for (let i = 0; i < proxies; i++) connections.push(await connectNats(setup.natsUrl));
  try {
    // Probe the real event size so the raw baseline fans out a payload of the same size.
    let eventBytes = 0;
    const events: string[] = [];
    const probe = connections[0]!.subscribe("jibe.v1.>", {
      callback: (_err, msg) => {
        eventBytes = Math.max(eventBytes, msg.data.byteLength);
        events.push(msg.string());
      },
    });
    await apply(setup, virtualService(0));
    const verifier = await createVerifier(setup.trustJwks as never);

    // Jibe: one policy sync + incremental compiler per proxy, on its own connection.
    let round = 0;
    let roundStart = 0;
    let pending = 0;
    let roundDone: () => void = () => {};
    const jibeSamples: number[] = [];
    const jibeLast: number[] = [];
    const seen = new Array<number>(proxies).fill(0);
    const syncs = [];
    for (let i = 0; i < proxies; i++) {
      const compiler = createIncrementalCompiler(proxyTemplate(i));
      const sync = await startPolicySync({
        nc: connections[i]!,
        verifier,
        onChange(state) {
          const { snapshot } = compiler.update(state);
          buildRouteTable(snapshot);
          const marker = markerOf(state.resources);
          if (marker === round && seen[i]! < round && roundStart > 0) {
            seen[i] = round;
            const elapsed = performance.now() - roundStart;
            jibeSamples.push(elapsed);
            if (--pending === 0) {
              jibeLast.push(elapsed);
              roundDone();
            }
          }
        },
      });
      syncs.push(sync);
    }
    for (round = 1; round <= rounds; round++) {
      pending = proxies;
      const done = new Promise<void>((resolve) => {
        roundDone = resolve;
      });
      roundStart = performance.now();
      await apply(setup, virtualService(round));
      await withTimeout(done, 30_000, `jibe round ${round}`);
    }
    for (const sync of syncs) await sync.stop();
    probe.unsubscribe();

    // Raw NATS: the same N connections each subscribe; one publish of a payload of the same size.
    const payload = new Uint8Array(eventBytes || 1024).fill(120);
    const rawSamples: number[] = [];
    const rawLast: number[] = [];
    const subject = "bench.raw.fanout";
    const subs = connections.map((nc) =>
      nc.subscribe(subject, {
        callback: () => {
          const elapsed = performance.now() - roundStart;
          rawSamples.push(elapsed);
          if (--pending === 0) {
            rawLast.push(elapsed);
            roundDone();
          }
        },
      }),
    );
    await Promise.all(connections.map((nc) => nc.flush()));
    const publisher = await connectNats(setup.natsUrl);
    for (let r = 1; r <= rounds; r++) {
      pending = proxies;
      const done = new Promise<void>((resolve) => {
        roundDone = resolve;
      });
      roundStart = performance.now();
      publisher.publish(subject, payload);
      await withTimeout(done, 30_000, `raw round ${r}`);
    }
    for (const sub of subs) sub.unsubscribe();
    await publisher.close();

    const applyCostUs = await measureApplyCost(verifier, events);

    return {
      applyCostUs,
      proxies,
      rounds,
      payloadBytes: payload.byteLength,
      jibe: summary(jibeSamples, jibeLast),
      raw: summary(rawSamples, rawLast),
    };
  } finally {
    await Promise.all(connections.map((nc) => nc.close()));
  }
}

/**
 * What one proxy spends applying one event, measured on the events captured in this run: the part
 * that N in-process proxies serialise on one core but real proxies, one per pod, do in parallel.
 */
async function measureApplyCost(
  verifier: Awaited<ReturnType<typeof createVerifier>>,
  events: readonly string[],
): Promise<{ p50: number; p99: number }> {
  const costs: number[] = [];
  for (let i = 0; i < 400; i++) {
    const compiler = createIncrementalCompiler(proxyTemplate(i));
    const jws = events[i % events.length];
    if (!jws) break;
    const started = performance.now();
    const opened = await openEvent(verifier, jws);
    if (!opened.ok || opened.event.type !== "resource.applied")
      throw new Error("captured event did not verify");
    const key = `${opened.event.ref.kind}.${opened.event.ref.namespace}.${opened.event.ref.name}`;
    const { snapshot } = compiler.update({
      resources: new Map([[key, opened.event.resource]]),
      changed: new Set([key]),
      revision: opened.event.revision,
    });
    buildRouteTable(snapshot);
    costs.push((performance.now() - started) * 1000);
  }
  // The first iterations include JIT warm-up; a long-running proxy is past it.
  const warm = costs.slice(Math.floor(costs.length / 4));
  return { p50: percentile(warm, 50), p99: percentile(warm, 99) };
}

function summary(samples: number[], last: number[]) {
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    lastP50: percentile(last, 50),
    lastP99: percentile(last, 99),
  };
}

/** A VirtualService whose header match carries the round number, so every round changes the snapshot. */
function virtualService(round: number): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "bench", namespace: "bench", labels: { "bench-round": String(round) } },
    spec: {
      hosts: ["bench-target"],
      http: [
        {
          match: [{ headers: { "x-round": { exact: String(round) } } }],
          route: [{ destination: { host: "bench-target" } }],
        },
        { route: [{ destination: { host: "bench-target" } }] },
      ],
    },
  };
}

function markerOf(resources: ReadonlyMap<string, { metadata: { labels?: Record<string, string> } }>): number {
  for (const resource of resources.values()) {
    const round = resource.metadata.labels?.["bench-round"];
    if (round !== undefined) return Number(round);
  }
  return -1;
}

async function apply(setup: ConvergenceSetup, resource: object): Promise<void> {
  const body = JSON.stringify(resource);
  const response = await fetch(`${setup.adminUrl}/api/v1/apply`, {
    method: "POST",
    headers: { authorization: `Bearer ${setup.token}`, "content-type": "application/json" },
    body,
  });
  if (!response.ok) throw new Error(`apply failed: ${response.status} ${await response.text()}`);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
