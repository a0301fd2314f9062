// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomness} from "../interfaces/IRandomness.sol";

/// @title BlockhashRandomness
/// @notice Dev-chain randomness: a round is the hash of the block that includes the request, readable from the
/// next block on for 256 blocks. The requester cannot know it when signing its transaction, but the block producer
/// can influence it: adequate for dev chains and tests, not for production value (use a VRF adapter there).
contract BlockhashRandomness is IRandomness {
    error RoundNotReady(uint64 round);
    error RoundExpired(uint64 round);

    /// @dev Mixed in so two deployments on one chain do not share values.
    bytes32 private immutable _salt = keccak256(abi.encode(address(this), block.chainid));

    function requestRound() external view returns (uint64) {
        return uint64(block.number);
    }

    function isReady(uint64 round) public view returns (bool) {
        return block.number > round && block.number - round <= 256;
    }

    function isExpired(uint64 round) public view returns (bool) {
        return block.number > round && block.number - round > 256;
    }

    function valueOf(uint64 round) external view returns (bytes32) {
        if (isExpired(round)) revert RoundExpired(round);
        if (!isReady(round)) revert RoundNotReady(round);
        return keccak256(abi.encode(_salt, blockhash(round), round));
    }
}
