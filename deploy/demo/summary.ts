/** The demo's closing summary as text (docs/demo.md shows one of each kind). */
import { formatEther } from "viem";
import type { DemoSummary, TrustSnapshot } from "./run.ts";

const eth = (wei: string) => `${formatEther(BigInt(wei))} ETH`;
const bps = (n: number) => n.toLocaleString("en-US");
const trust = (t: TrustSnapshot) =>
  `${bps(t.trustBps)} bps, audit depth ${t.auditDepth} (${t.passes} pass${t.passes === 1 ? "" : "es"}, ` +
  `${t.failures} fraud)`;

export function formatSummary(s: DemoSummary): string {
  const rows: [string, string][] = [
    ["prompt", JSON.stringify(s.prompt)],
    ["mode", s.cheat ? `CHEAT (DIFFUSION_CHEAT=${s.cheat})` : "honest"],
    ["job", `request #${s.requestId} (subscription ${s.requestId}, interval 1, slot 0)`],
    ["job id", s.jobId],
    ["provider", `node ${s.providerName} ${s.provider}`],
    ["validator", `node ${s.validatorName} ${s.validator}`],
    ["root", s.root],
    ["steps / k", `T = ${s.steps}, k = ${s.k} challenged`],
    ["challenged", `[${s.challenged.join(", ")}]`],
    [
      "detection",
      `a skip-steps cheat is caught with probability ${(s.detectionProbability * 100).toFixed(s.detectionProbability === 1 ? 0 : 1)} % at this T and k`,
    ],
    [
      "verdict",
      s.verdict === "pass"
        ? `PASS — every challenged step re-executed within the bands (quality ${bps(s.quality)} bps)`
        : `FAIL — failed steps [${s.failedSteps.join(", ")}] (quality ${bps(s.quality)} bps)`,
    ],
  ];
  if (s.payment) {
    rows.push([
      "payment",
      `PAID ${eth(s.payment.net)} to the provider (+${eth(s.payment.fee)} protocol fee): ` +
        `${(s.payment.payBps / 100).toFixed(2)} % of the price for its quality` +
        (BigInt(s.payment.returned) > 0n ? `, ${eth(s.payment.returned)} back to the minter` : ""),
    ]);
  }
  if (s.slash) {
    rows.push([
      "slash",
      `SLASHED job bond: ${eth(s.slash.toRequester)} → requester, ${eth(s.slash.toChallenger)} → validator, ` +
        `${eth(s.slash.burned)} burned`,
    ]);
  }
  if (s.refund) {
    rows.push([
      "refund",
      `REFUNDED the minter ${eth(s.refund.price)} price + ${eth(s.refund.compensation)} compensation ` +
        `(withdrawn ${eth(s.refund.withdrawn)})`,
    ]);
  }
  rows.push(["trust before", trust(s.trust.before)], ["trust after", trust(s.trust.after)]);
  rows.push([
    "NFT",
    s.nft.status === "verified"
      ? `token #${s.nft.tokenId} owned by ${s.nft.owner}, verified`
      : `token #${s.nft.tokenId} burned (its video failed verification)`,
  ]);
  rows.push(["video sha256", s.nft.videoSha256], ["video uri", s.nft.uri], ["GIF", s.gif]);
  rows.push(["time", `${(s.durationMs / 1000).toFixed(1)} s`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const verdictLine =
    s.settlement === "paid"
      ? "RESULT: verdict pass, provider paid, NFT verified"
      : "RESULT: verdict fail, provider slashed, minter refunded, NFT burned";
  return [
    "",
    "InferNet demo — summary",
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    "",
    verdictLine,
  ].join("\n");
}
