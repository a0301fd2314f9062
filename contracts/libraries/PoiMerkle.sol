// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoiEncoding} from "./PoiEncoding.sol";

/// @title PoiMerkle
/// @notice The commitment tree of docs/protocol.md §5: leaves padded with `EMPTY_LEAF` to a power of two, internal
/// nodes `keccak(NODE_TAG ‖ left ‖ right)` in index order, and multiproofs checked by the procedure of §5 (mirrored
/// by `verifyMultiproof` in `sdk/src/poi/tree.ts`).
library PoiMerkle {
    /// @notice The deepest tree `verifyMultiproof` accepts (a job has at most 2^32 + 1 leaves, depth 33).
    uint256 internal constant MAX_DEPTH = 64;

    /// @notice An internal node: `keccak(NODE_TAG ‖ left ‖ right)` over 96 packed bytes.
    function hashNode(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        bytes32 tag = PoiEncoding.NODE_TAG;
        // Hashes 96 bytes at the free-memory pointer without moving it (scratch use of unallocated memory):
        // `abi.encodePacked` would allocate 128 bytes per node.
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, tag)
            mstore(add(p, 0x20), left)
            mstore(add(p, 0x40), right)
            h := keccak256(p, 0x60)
        }
    }

    /// @notice The depth `D` of the smallest power of two `2^D ≥ leafCount`; reverts on 0 or above 2^MAX_DEPTH.
    function depthFor(uint256 leafCount) internal pure returns (uint256 depth) {
        require(leafCount != 0 && leafCount <= 1 << MAX_DEPTH, "PoiMerkle: leaf count");
        while (1 << depth < leafCount) {
            unchecked {
                ++depth;
            }
        }
    }

    /// @notice The procedure of §5. True iff `leaves` at `indices` (strictly increasing, each `< leafCount`) with
    /// the siblings `proof`, consumed in order and all of them, hash up to `root` over `depth` levels, and `depth`
    /// is the depth of `leafCount`. Never reverts on a bad proof.
    /// @dev Works in place: it OVERWRITES `indices` and `leaves` (each level is written over the prefix of the level
    /// below, as `(i >> 1, parent)` pairs). Callers that need them afterwards must pass copies.
    /// The checks and the level loop are assembly: the same code in plain Solidity (bounds-checked array accesses)
    /// cost 2.3× as much (18,182 against 7,515 gas for the k = 3 vector at T = 50), and a whole reveal must stay
    /// under 100,000 gas.
    /// `sdk/src/poi/tree.ts` `verifyMultiproof` is the readable reference; the fuzz test holds the two together.
    function verifyMultiproof(
        bytes32 root,
        uint256 depth,
        uint256 leafCount,
        uint256[] memory indices,
        bytes32[] memory leaves,
        bytes32[] calldata proof
    ) internal pure returns (bool ok) {
        uint256 n = indices.length;
        if (n == 0 || n != leaves.length || depth > MAX_DEPTH) return false;
        // depth must be the depth of leafCount: 2^(depth-1) < leafCount <= 2^depth.
        uint256 size = 1 << depth;
        if (leafCount > size || leafCount <= size >> 1) return false;
        bytes32 tag = PoiEncoding.NODE_TAG;
        assembly ("memory-safe") {
            let first := add(indices, 0x20) // indices[0]
            let end := add(first, shl(5, n)) // one past the last entry of the current level
            let toLeaf := sub(leaves, indices) // indices[j] at p  <=>  leaves[j] at p + toLeaf
            // Indices strictly increasing (no duplicates) and the largest below leafCount.
            ok := 1
            let prev := mload(first)
            for {
                let p := add(first, 0x20)
            } lt(p, end) {
                p := add(p, 0x20)
            } {
                let i := mload(p)
                if iszero(gt(i, prev)) {
                    ok := 0
                }
                prev := i
            }
            if iszero(lt(prev, leafCount)) {
                ok := 0
            }
            // 96-byte hashing buffer NODE_TAG ‖ left ‖ right in unallocated memory (the free pointer is not moved).
            let buf := mload(0x40)
            mstore(buf, tag)
            let next := proof.offset // the next proof element to consume
            let proofEnd := add(next, shl(5, proof.length))
            for {} and(ok, gt(depth, 0)) {
                depth := sub(depth, 1)
            } {
                let w := first // write position of the next level
                for {
                    let r := first
                } lt(r, end) {} {
                    let i := mload(r)
                    let r1 := add(r, 0x20)
                    // The next entry is i's right sibling iff it is i | 1: for an odd i that would be i itself,
                    // impossible as every level stays strictly increasing.
                    switch and(lt(r1, end), eq(mload(r1), or(i, 1)))
                    case 1 {
                        mstore(add(buf, 0x20), mload(add(r, toLeaf)))
                        mstore(add(buf, 0x40), mload(add(r1, toLeaf)))
                        r := add(r1, 0x20)
                    }
                    default {
                        // Missing sibling from the proof: on the right of an even i, on the left of an odd one.
                        // Past the end of the proof this reads other calldata or zeros, but `next` only grows, so
                        // the final `next == proofEnd` check rejects a proof that ran short.
                        let odd := shl(5, and(i, 1))
                        mstore(add(buf, add(0x20, odd)), mload(add(r, toLeaf)))
                        mstore(add(buf, sub(0x40, odd)), calldataload(next))
                        next := add(next, 0x20)
                        r := r1
                    }
                    mstore(w, shr(1, i))
                    mstore(add(w, toLeaf), keccak256(buf, 0x60))
                    w := add(w, 0x20)
                }
                end := w
            }
            // After `depth` levels every index is 0, so (strictly increasing) one node is left: it must be the root,
            // and every proof element must have been consumed.
            ok := and(ok, and(eq(next, proofEnd), eq(mload(add(first, toLeaf)), root)))
        }
    }
}
