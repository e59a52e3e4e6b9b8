// Reads the JSON reports of one `just bench-realtime` run (target/bench/<server>-<scenario>.json)
// and prints the figures of rodando-server and the Node baseline side by side with their
// ratios and the issue's targets, as a Markdown table (also written to summary.md).
//
// Usage: node bench/compare.mjs <dir> [note]

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "target/bench";
const note = process.argv[3] ?? "";

function load(name) {
  const path = join(dir, `${name}.json`);
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : null;
}

const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? "-" : Number(v).toFixed(digits));
const ratio = (a, b, digits = 2) => (a == null || b == null || b === 0 ? "-" : `${(a / b).toFixed(digits)}×`);
const errors = (r) => {
  const e = Object.entries(r?.errors ?? {});
  return e.length === 0 ? "none" : e.map(([k, n]) => `${k} ${n}`).join(", ");
};

// Server CPU time per acked ping, µs: percent of a core × 10 000 / acked pings per second.
const cpuPerPing = (r) => (r?.server?.cpuPercent == null || !r.ackedPingsPerS ? null : (r.server.cpuPercent * 1e4) / r.ackedPingsPerS);

const rows = [];
const row = (scenario, figure, rust, node, r = "") => rows.push(`| ${scenario} | ${figure} | ${rust} | ${node} | ${r} |`);

const [ra, na] = [load("rust-a"), load("node-a")];
if (ra || na) {
  const s = "a";
  row(s, "load", `${ra?.driversConnected} drivers × ${ra?.ratePerDriver}/s, ${ra?.adminsConnected} admins`, `${na?.driversConnected} drivers × ${na?.ratePerDriver}/s, ${na?.adminsConnected} admins`);
  row(s, "acked pings/s", fmt(ra?.ackedPingsPerS), fmt(na?.ackedPingsPerS), ratio(ra?.ackedPingsPerS, na?.ackedPingsPerS));
  for (const [label, key] of [["ping→ack", "ackLatency"], ["ping→first admin", "deliveryFirstAdmin"], ["ping→every admin", "deliveryAllAdmins"]]) {
    const [x, y] = [ra?.[key], na?.[key]];
    row(s, `${label} p50 / p99 / max, ms`, `${fmt(x?.p50Ms, 2)} / ${fmt(x?.p99Ms, 2)} / ${fmt(x?.maxMs, 2)}`, `${fmt(y?.p50Ms, 2)} / ${fmt(y?.p99Ms, 2)} / ${fmt(y?.maxMs, 2)}`, `p99 ${ratio(y?.p99Ms, x?.p99Ms)} lower`);
  }
  row(s, "acked pings no admin saw", ra?.pingsNeverSeenByAdmin ?? "-", na?.pingsNeverSeenByAdmin ?? "-");
  row(s, "server CPU (1 core = 100 %)", fmt(ra?.server?.cpuPercent), fmt(na?.server?.cpuPercent), ratio(na?.server?.cpuPercent, ra?.server?.cpuPercent) + " less");
  row(s, "server CPU per acked ping, µs", fmt(cpuPerPing(ra), 1), fmt(cpuPerPing(na), 1), ratio(cpuPerPing(ra), cpuPerPing(na)));
  row(s, "loadgen CPU", fmt(ra?.loadgen?.cpuPercent), fmt(na?.loadgen?.cpuPercent));
  row(s, "errors", errors(ra), errors(na));
}

const [rb, nb] = [load("rust-b"), load("node-b")];
if (rb || nb) {
  const s = "b";
  const steps = (r) => (r?.steps ?? []).map((st) => `${fmt(st.offeredPingsPerS, 0)}→${fmt(st.ackedPingsPerS, 0)} (p99 ${fmt(st.ackLatency?.p99Ms, 1)})`).join(", ");
  row(s, `steps: offered→acked/s (ack p99 ms)`, steps(rb), steps(nb));
  // Without a sustained step, the figure is below the first step's offered rate.
  const firstOffered = (r) => r?.steps?.[0]?.offeredPingsPerS;
  const best = (r) => {
    if (!r) return "-";
    if (r.maxSustainedAckedPingsPerS == null) return `< ${fmt(firstOffered(r), 0)}`;
    return `${r.saturated ? "" : "≥ "}${fmt(r.maxSustainedAckedPingsPerS)}`;
  };
  const bRatio =
    rb?.maxSustainedAckedPingsPerS != null && nb && nb.maxSustainedAckedPingsPerS == null
      ? `> ${ratio(rb.maxSustainedAckedPingsPerS, firstOffered(nb))}`
      : ratio(rb?.maxSustainedAckedPingsPerS, nb?.maxSustainedAckedPingsPerS) + (rb && !rb.saturated ? " (lower bound)" : "");
  row(s, `max sustained acked pings/s (ack p99 ≤ ${rb?.p99BoundMs ?? nb?.p99BoundMs} ms)`, best(rb), best(nb), bRatio);
  const cpu = (r) => fmt(r?.steps?.[r.bestStep ?? -1]?.server?.cpuPercent);
  row(s, "server CPU at that step", cpu(rb), cpu(nb));
}

const [rc, nc] = [load("rust-c"), load("node-c")];
if (rc || nc) {
  const s = "c";
  const held = (r) => (r ? `${r.driversHeldAtEnd + r.adminsHeldAtEnd} of ${r.driversRequested + r.adminsRequested}` : "-");
  row(s, "sockets held", held(rc), held(nc));
  row(s, "server RSS before → connected, MiB", `${fmt(rc?.server?.rssBeforeKb / 1024)} → ${fmt(rc?.server?.rssConnectedKb / 1024)}`, `${fmt(nc?.server?.rssBeforeKb / 1024)} → ${fmt(nc?.server?.rssConnectedKb / 1024)}`);
  row(s, "server bytes per socket", fmt(rc?.server?.bytesPerSocket, 0), fmt(nc?.server?.bytesPerSocket, 0), ratio(rc?.server?.bytesPerSocket, nc?.server?.bytesPerSocket));
  row(s, "server bytes per socket, second half", fmt(rc?.server?.marginalBytesPerSocket, 0), fmt(nc?.server?.marginalBytesPerSocket, 0), ratio(rc?.server?.marginalBytesPerSocket, nc?.server?.marginalBytesPerSocket));
  row(s, "handshake p50 / p99, ms", `${fmt(rc?.handshake?.p50Ms, 2)} / ${fmt(rc?.handshake?.p99Ms, 2)}`, `${fmt(nc?.handshake?.p50Ms, 2)} / ${fmt(nc?.handshake?.p99Ms, 2)}`);
  row(s, "connect phase, s", fmt(rc?.connectPhaseS), fmt(nc?.connectPhaseS));
  row(s, "acked pings/s (idle pinging)", fmt(rc?.ackedPingsPerS), fmt(nc?.ackedPingsPerS));
  row(s, "ping→first admin p99, ms", fmt(rc?.deliveryFirstAdmin?.p99Ms, 2), fmt(nc?.deliveryFirstAdmin?.p99Ms, 2));
  row(s, "loadgen bytes per socket", fmt(rc?.loadgen?.bytesPerSocket, 0), fmt(nc?.loadgen?.bytesPerSocket, 0));
  row(s, "errors", errors(rc), errors(nc));
}

const targets = [];
if (rc) {
  const sockets = rc.driversHeldAtEnd + rc.adminsHeldAtEnd;
  const bps = rc.server?.bytesPerSocket;
  targets.push(`- 50k sockets at ≤ 8 KB RSS each: held ${sockets} sockets at ${fmt(bps, 0)} B each → ${sockets >= 50_000 && bps <= 8192 ? "met" : "NOT met"}${sockets < 50_000 ? ` (fewer than 50k sockets: see the run's notes)` : ""}`);
}
if (rc) {
  // Issue 17: lighter than Node per idle socket and cheaper per ping.
  const [bps, nbps] = [rc.server?.marginalBytesPerSocket, nc?.server?.marginalBytesPerSocket];
  const vsNode = nbps ? `, ${ratio(bps, nbps)} Node's ${fmt(nbps, 0)} B (≤ 0.85×)` : "";
  targets.push(`- ≤ 14 KB per idle socket (second half of the capacity sockets): ${fmt(bps, 0)} B${vsNode} → ${bps <= 14_000 && (!nbps || bps <= 0.85 * nbps) ? "met" : "NOT met"}`);
}
if (ra) {
  const [us, nus] = [cpuPerPing(ra), cpuPerPing(na)];
  const vsNode = nus ? `, ${ratio(us, nus)} Node's ${fmt(nus, 1)} µs (≤ 0.25×)` : "";
  targets.push(`- ≤ 60 µs server CPU per acked ping in scenario a: ${fmt(us, 1)} µs${vsNode} → ${us <= 60 && (!nus || us <= 0.25 * nus) ? "met" : "NOT met"}`);
}
if (ra) {
  const p99 = ra.deliveryFirstAdmin?.p99Ms;
  targets.push(`- 5k pings/s with ping→admin p99 < 20 ms: ${fmt(ra.ackedPingsPerS)} acked/s, p99 ${fmt(p99, 2)} ms → ${ra.ackedPingsPerS >= 4950 && p99 < 20 ? "met" : "NOT met"}`);
}
if (rb && nb && rb.maxSustainedAckedPingsPerS && nb.maxSustainedAckedPingsPerS) {
  const x = rb.maxSustainedAckedPingsPerS / nb.maxSustainedAckedPingsPerS;
  targets.push(`- ≥ 5× the baseline's acked pings/s at equal p99: ${x.toFixed(2)}×${rb.saturated ? "" : " (rodando not saturated: lower bound)"} → ${x >= 5 ? "met" : "NOT met"}`);
} else if (rb?.maxSustainedAckedPingsPerS && nb && nb.steps?.length) {
  const x = rb.maxSustainedAckedPingsPerS / nb.steps[0].offeredPingsPerS;
  targets.push(`- ≥ 5× the baseline's acked pings/s at equal p99: the baseline missed the bound at its first step (${fmt(nb.steps[0].offeredPingsPerS, 0)}/s), so > ${x.toFixed(2)}× → ${x >= 5 ? "met" : "undecided: rerun the baseline with lower STEPS"}`);
}

const text = [
  `## rodando-server vs Node socket.io baseline${note ? ` (${note})` : ""}`,
  "",
  "| scenario | figure | rodando | node | ratio |",
  "|---|---|---|---|---|",
  ...rows,
  "",
  "Targets (issue 7 item 8; issue 17):",
  "",
  ...targets,
  "",
].join("\n");
console.log(text);
writeFileSync(join(dir, "summary.md"), text);
