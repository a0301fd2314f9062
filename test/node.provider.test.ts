// Provider job logic that needs no chain: which on-chain container ids a node serves (single ids and pipelines).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { keccak256, toBytes } from "viem";
import { containerIndex } from "../node/src/provider/jobs.ts";

const id = (s: string) => keccak256(toBytes(s));

describe("provider container index", () => {
  it("maps each id and each ordered pipeline of distinct ids (Ritual's 'A,B,C') to the containers to run", () => {
    const index = containerIndex(["a", "b", "c"]);
    assert.deepEqual(index.get(id("a")), ["a"]);
    assert.deepEqual(index.get(id("b,a")), ["b", "a"]);
    assert.deepEqual(index.get(id("c,a,b")), ["c", "a", "b"]);
    assert.equal(index.get(id("a,a")), undefined, "a container does not repeat within a pipeline");
    assert.equal(index.get(id("a,b,c,a")), undefined);
    assert.equal(index.get(id("a, b")), undefined, "the encoding has no spaces");
    assert.equal(index.size, 3 + 6 + 6);
  });

  it("honours the depth and the entry cap, keeping shorter pipelines", () => {
    assert.equal(containerIndex(["a", "b", "c"], 1).size, 3);
    const ids = Array.from({ length: 30 }, (_, i) => `c${i}`);
    const capped = containerIndex(ids, 3, 1_000);
    assert.equal(capped.size, 30 + 30 * 29, "depth 3 (24,360 more) would pass the cap, so it is left out");
    assert.deepEqual(capped.get(id("c7,c3")), ["c7", "c3"]);
  });
});
