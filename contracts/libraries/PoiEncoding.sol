// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title PoiEncoding
/// @notice The Proof-of-Inference encoding of docs/protocol.md §1–4, §6 (seed) and §7 (challenge), mirrored by
/// `sdk/src/poi/` in TypeScript; `test/poi.vectors.test.ts` holds both to the same vectors. `enc` is `abi.encode`, so
/// every uint32 below is padded to a 32-byte word exactly as the TypeScript side encodes it.
library PoiEncoding {
    /// @dev keccak256("infernet.poi.step.v1")
    bytes32 internal constant STEP_TAG = 0x897c36579be97cf681f629bc87dc3bc75f11065231352268cba9fc0eb05391be;
    /// @dev keccak256("infernet.poi.output.v1")
    bytes32 internal constant OUTPUT_TAG = 0x3e76c3a50d520808d2a58ccbd1b9316abc66a856a703a930d07ba1ecb27d5b87;
    /// @dev keccak256("infernet.poi.params.v1")
    bytes32 internal constant PARAMS_TAG = 0x80f7b9c3a1464397171981cb8ff4ced297b8ff185492a246d838d26f6f211c9b;
    /// @dev keccak256("infernet.poi.node.v1")
    bytes32 internal constant NODE_TAG = 0x56ae04c30e8cc5143c82743cd26b65539213c097ec95cf89c748754349f3a73e;
    /// @dev keccak256("infernet.poi.empty.v1")
    bytes32 internal constant EMPTY_LEAF = 0x8f147482d773c30ea72dcf1111ccde2d0bb57797be40a112eb78a1034fde8b19;
    /// @dev keccak256("infernet.poi.job.v1")
    bytes32 internal constant JOB_TAG = 0x9ba3f685b8f4faa8988d2382b8300b5bdb15d99397ad0a03b52e99aba2ef2463;
    /// @dev keccak256("infernet.poi.seed.v1")
    bytes32 internal constant SEED_TAG = 0x0d167d4d16104aa383f0f4a537de5f3afde8c29b0f9b52a02b5e1529094acfa6;
    /// @dev keccak256("infernet.poi.challenge.v1")
    bytes32 internal constant CHALLENGE_TAG =
        0x41e1e2e0516188b504f5d76fdc81e1bc81f1631f4e72668159b9a50ff884b567;
    /// @dev keccak256("infernet.poi.prng.v1")
    bytes32 internal constant PRNG_TAG = 0x2fa024ce714ce8925e62f752b5d7710058d5fbdfa24c506756f0bc90d8844cb9;

    /// @notice dtype codes of the params hash (§4).
    uint8 internal constant DTYPE_FLOAT32 = 0;
    uint8 internal constant DTYPE_FLOAT16 = 1;

    /// @notice The preimage of `paramsHash` (§4).
    struct Params {
        bytes32 modelHash;
        bytes32 schedulerHash;
        uint32 guidanceMilli;
        uint32 width;
        uint32 height;
        uint32 frames;
        bytes32 seed;
        bytes32 inputsHash;
        uint8 dtype;
    }

    /// @notice `k` must satisfy `1 ≤ k ≤ T` (§7).
    error InvalidChallengeCount(uint32 k, uint32 steps);

    /// @notice `keccak(enc(JOB_TAG, chainId, coordinator, u64(subscriptionId), u32(interval)))` (§2).
    function jobId(
        uint256 chainId,
        address coordinator,
        uint64 subscriptionId,
        uint32 interval
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(JOB_TAG, chainId, coordinator, subscriptionId, interval));
    }

    /// @notice Leaf `index` (a step, `index < steps`):
    /// `keccak(enc(STEP_TAG, jobId, node, u32(i), u32(T), u32(t_i), sha256(z_i), sha256(ε_i)))` (§4).
    function stepLeaf(
        bytes32 job,
        address node,
        uint32 index,
        uint32 steps,
        uint32 timestep,
        bytes32 latentDigest,
        bytes32 noiseDigest
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(STEP_TAG, job, node, index, steps, timestep, latentDigest, noiseDigest));
    }

    /// @notice Leaf `T`: `keccak(enc(OUTPUT_TAG, jobId, node, u32(T), sha256(z_T), outputHash))` (§4).
    function outputLeaf(
        bytes32 job,
        address node,
        uint32 steps,
        bytes32 finalLatentDigest,
        bytes32 outputHash
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(OUTPUT_TAG, job, node, steps, finalLatentDigest, outputHash));
    }

    /// @notice Leaf `T + 1`: `keccak(enc(PARAMS_TAG, jobId, node, u32(T), paramsHash))` (§4).
    function paramsLeaf(
        bytes32 job,
        address node,
        uint32 steps,
        bytes32 hashOfParams
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(PARAMS_TAG, job, node, steps, hashOfParams));
    }

    /// @notice `keccak(enc(modelHash, schedulerHash, u32(guidanceMilli), u32(width), u32(height), u32(frames), seed,
    /// inputsHash, u8(dtype)))` (§4).
    function paramsHash(Params memory p) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    p.modelHash,
                    p.schedulerHash,
                    p.guidanceMilli,
                    p.width,
                    p.height,
                    p.frames,
                    p.seed,
                    p.inputsHash,
                    p.dtype
                )
            );
    }

    /// @notice The initial-noise seed: `keccak(enc(SEED_TAG, jobId, R_req))` (§6).
    function seed(bytes32 job, bytes32 requestRandomness) internal pure returns (bytes32) {
        return keccak256(abi.encode(SEED_TAG, job, requestRandomness));
    }

    /// @notice The `k` challenged steps of §7, one per stratum `[⌊jT/k⌋, ⌊(j+1)T/k⌋)`, strictly increasing:
    /// `c_j = lo + uint256(keccak(enc(CHALLENGE_TAG, jobId, node, root, R_c, u32(j)))) mod (hi − lo)`.
    function challengeIndices(
        bytes32 job,
        address node,
        bytes32 root,
        bytes32 randomness,
        uint32 steps,
        uint32 k
    ) internal pure returns (uint32[] memory challenged) {
        if (k == 0 || k > steps) revert InvalidChallengeCount(k, steps);
        challenged = new uint32[](k);
        uint256 lo;
        for (uint256 j; j < k; ) {
            uint256 hi = ((j + 1) * steps) / k; // hi > lo because steps ≥ k
            uint256 h = uint256(keccak256(abi.encode(CHALLENGE_TAG, job, node, root, randomness, uint32(j))));
            challenged[j] = uint32(lo + (h % (hi - lo)));
            lo = hi;
            unchecked {
                ++j;
            }
        }
    }

    /// @notice The leaves a reveal opens (§7): sorted and unique {0, T, T + 1} ∪ {c, c + 1 : c challenged}.
    /// `challenged` must be strictly increasing, as `challengeIndices` returns it.
    function openedIndices(
        uint32[] memory challenged,
        uint256 steps
    ) internal pure returns (uint256[] memory opened) {
        opened = new uint256[](2 * challenged.length + 3);
        uint256 n = 1; // opened[0] = 0
        for (uint256 j; j < challenged.length; ++j) {
            uint256 c = challenged[j];
            if (c > opened[n - 1]) opened[n++] = c;
            if (c + 1 > opened[n - 1]) opened[n++] = c + 1;
        }
        if (steps > opened[n - 1]) opened[n++] = steps;
        opened[n++] = steps + 1;
        assembly ("memory-safe") {
            mstore(opened, n)
        }
    }
}
