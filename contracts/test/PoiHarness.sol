// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoiEncoding} from "../libraries/PoiEncoding.sol";
import {PoiMerkle} from "../libraries/PoiMerkle.sol";

/// @notice Exposes PoiEncoding and PoiMerkle to the TypeScript tests (cross-checks against `sdk/src/poi/`).
contract PoiHarness {
    function tags() external pure returns (bytes32[9] memory) {
        return [
            PoiEncoding.STEP_TAG,
            PoiEncoding.OUTPUT_TAG,
            PoiEncoding.PARAMS_TAG,
            PoiEncoding.NODE_TAG,
            PoiEncoding.EMPTY_LEAF,
            PoiEncoding.JOB_TAG,
            PoiEncoding.SEED_TAG,
            PoiEncoding.CHALLENGE_TAG,
            PoiEncoding.PRNG_TAG
        ];
    }

    function jobId(
        uint256 chainId,
        address coordinator,
        uint64 subscriptionId,
        uint32 interval
    ) external pure returns (bytes32) {
        return PoiEncoding.jobId(chainId, coordinator, subscriptionId, interval);
    }

    function stepLeaf(
        bytes32 job,
        address node,
        uint32 index,
        uint32 steps,
        uint32 timestep,
        bytes32 latentDigest,
        bytes32 noiseDigest
    ) external pure returns (bytes32) {
        return PoiEncoding.stepLeaf(job, node, index, steps, timestep, latentDigest, noiseDigest);
    }

    function outputLeaf(
        bytes32 job,
        address node,
        uint32 steps,
        bytes32 finalLatentDigest,
        bytes32 outputHash
    ) external pure returns (bytes32) {
        return PoiEncoding.outputLeaf(job, node, steps, finalLatentDigest, outputHash);
    }

    function paramsLeaf(
        bytes32 job,
        address node,
        uint32 steps,
        bytes32 hashOfParams
    ) external pure returns (bytes32) {
        return PoiEncoding.paramsLeaf(job, node, steps, hashOfParams);
    }

    function paramsHash(PoiEncoding.Params calldata p) external pure returns (bytes32) {
        return PoiEncoding.paramsHash(p);
    }

    function seed(bytes32 job, bytes32 requestRandomness) external pure returns (bytes32) {
        return PoiEncoding.seed(job, requestRandomness);
    }

    function challengeIndices(
        bytes32 job,
        address node,
        bytes32 root_,
        bytes32 randomness,
        uint32 steps,
        uint32 k
    ) external pure returns (uint32[] memory) {
        return PoiEncoding.challengeIndices(job, node, root_, randomness, steps, k);
    }

    function hashNode(bytes32 left, bytes32 right) external pure returns (bytes32) {
        return PoiMerkle.hashNode(left, right);
    }

    function depthFor(uint256 leafCount) external pure returns (uint256) {
        return PoiMerkle.depthFor(leafCount);
    }

    /// @notice The root of the full tree over `leaves` (padded with EMPTY_LEAF), built level by level.
    function root(bytes32[] memory leaves) external pure returns (bytes32) {
        uint256 depth = PoiMerkle.depthFor(leaves.length);
        bytes32[] memory level = new bytes32[](1 << depth);
        for (uint256 i; i < level.length; ++i)
            level[i] = i < leaves.length ? leaves[i] : PoiEncoding.EMPTY_LEAF;
        for (uint256 width = level.length; width > 1; width >>= 1) {
            for (uint256 i; i < width; i += 2) level[i >> 1] = PoiMerkle.hashNode(level[i], level[i + 1]);
        }
        return level[0];
    }

    function verifyMultiproof(
        bytes32 root_,
        uint256 depth,
        uint256 leafCount,
        uint256[] memory indices,
        bytes32[] memory leaves,
        bytes32[] calldata proof
    ) external pure returns (bool) {
        return PoiMerkle.verifyMultiproof(root_, depth, leafCount, indices, leaves, proof);
    }

    /// @notice `verifyMultiproof` plus the gas the library call itself used (arguments already decoded; the proof
    /// read from calldata, as in a reveal).
    function measureVerifyMultiproof(
        bytes32 root_,
        uint256 depth,
        uint256 leafCount,
        uint256[] memory indices,
        bytes32[] memory leaves,
        bytes32[] calldata proof
    ) external view returns (bool ok, uint256 gasUsed) {
        uint256 before = gasleft();
        ok = PoiMerkle.verifyMultiproof(root_, depth, leafCount, indices, leaves, proof);
        gasUsed = before - gasleft();
    }
}
