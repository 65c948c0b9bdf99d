import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderIptablesRules } from "./iptables.ts";
import { readTrafficCapture } from "./traffic-capture.ts";

/**
 * The generated rules applied for real: two network namespaces joined by a veth pair, `pod`
 * (10.77.0.2, where the rules go) and `peer` (10.77.0.1). Small TCP servers answer with the port
 * they accepted on, so a test sees where the kernel really delivered a connection. Needs root
 * and Debian's `iptables` + `iproute2` (`.ci/run` installs them); without them it fails, it does
 * not skip.
 */
const POD_IP = "10.77.0.2";
const PEER_IP = "10.77.0.1";
const APP_UID = 1000;
const PROXY_UID = 1337;
const id = process.pid % 100_000;
const POD = `jibe-pod-${id}`;
const PEER = `jibe-peer-${id}`;
const HELPER = new URL("./testing/netns-tcp.ts", import.meta.url).pathname;
const servers: ChildProcess[] = [];

function run(command: string, args: readonly string[], input?: string): string {
  return execFileSync(command, args, { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
}

function requireRootAndTools(): void {
  if (process.getuid?.() !== 0)
    throw new Error("this test needs root (ip netns, iptables); run it as root, as CI does");
  for (const tool of ["ip", "iptables-restore"]) {
    try {
      run("sh", ["-c", `command -v ${tool}`]);
    } catch {
      throw new Error(`${tool} not found: install the Debian packages iptables and iproute2 (.ci/run does)`);
    }
  }
}

async function serve(netns: string, label: string, ports: readonly number[]): Promise<void> {
  const child = spawn(
    "ip",
    ["netns", "exec", netns, process.execPath, HELPER, "serve", label, ...ports.map(String)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  servers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server in ${netns} exited (${code})`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
  });
}

/** Where a TCP connection from `netns` (as `uid`) to host:port really lands: `label:port`. */
function connectFrom(netns: string, host: string, port: number, uid?: number): string {
  return run("ip", [
    "netns",
    "exec",
    netns,
    process.execPath,
    HELPER,
    "connect",
    host,
    String(port),
    ...(uid !== undefined ? [String(uid)] : []),
  ]);
}

function applyRules(annotations: Record<string, string>): void {
  run("ip", ["netns", "exec", POD, "iptables-restore"], renderIptablesRules(readTrafficCapture(annotations)));
}

describe("traffic capture rules in a real network namespace", () => {
  beforeAll(async () => {
    requireRootAndTools();
    run("ip", ["netns", "add", POD]);
    run("ip", ["netns", "add", PEER]);
    run("ip", ["link", "add", `jv${id}a`, "type", "veth", "peer", "name", `jv${id}b`]);
    run("ip", ["link", "set", `jv${id}a`, "netns", POD]);
    run("ip", ["link", "set", `jv${id}b`, "netns", PEER]);
    for (const [netns, dev, ip] of [
      [POD, `jv${id}a`, POD_IP],
      [PEER, `jv${id}b`, PEER_IP],
    ] as const) {
      run("ip", ["-n", netns, "addr", "add", `${ip}/24`, "dev", dev]);
      run("ip", ["-n", netns, "link", "set", dev, "up"]);
      run("ip", ["-n", netns, "link", "set", "lo", "up"]);
    }
    // In the pod: the app (9080, 9081), the proxy's capture listeners (15001, 15006) and its health port.
    await serve(POD, "pod", [9080, 9081, 15001, 15006, 15021]);
    await serve(PEER, "peer", [8080, 5432]);
  });

  afterAll(() => {
    for (const child of servers) child.kill();
    for (const netns of [POD, PEER]) {
      try {
        run("ip", ["netns", "del", netns]); // also removes the veth pair
      } catch {
        // never created (setup failed before): nothing to clean
      }
    }
  });

  it("sends inbound connections to the proxy's inbound port, except excluded and proxy ports", () => {
    applyRules({ "traffic.sidecar.istio.io/excludeInboundPorts": "9081" });
    expect(connectFrom(PEER, POD_IP, 9080)).toBe("pod:15006");
    expect(connectFrom(PEER, POD_IP, 9081)).toBe("pod:9081");
    expect(connectFrom(PEER, POD_IP, 15021)).toBe("pod:15021");
  });

  it("sends the app's outbound connections to the proxy, but not the proxy's own nor excluded ports", () => {
    applyRules({ "traffic.sidecar.istio.io/excludeOutboundPorts": "5432" });
    expect(connectFrom(POD, PEER_IP, 8080, APP_UID)).toBe("pod:15001");
    expect(connectFrom(POD, PEER_IP, 8080, PROXY_UID)).toBe("peer:8080");
    expect(connectFrom(POD, PEER_IP, 5432, APP_UID)).toBe("peer:5432");
    expect(connectFrom(POD, "127.0.0.1", 9080, APP_UID)).toBe("pod:9080");
  });

  it("captures only the listed inbound ports and skips excluded outbound ranges; a restore replaces the rules", () => {
    applyRules({
      "traffic.sidecar.istio.io/includeInboundPorts": "9080",
      "traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.77.0.0/24",
    });
    expect(connectFrom(PEER, POD_IP, 9080)).toBe("pod:15006");
    expect(connectFrom(PEER, POD_IP, 9081)).toBe("pod:9081");
    expect(connectFrom(POD, PEER_IP, 8080, APP_UID)).toBe("peer:8080");
    expect(connectFrom(POD, PEER_IP, 5432, APP_UID)).toBe("peer:5432");
  });
});
