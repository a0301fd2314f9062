// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ITrustModel
/// @notice Reputation that scales a node's assignment weight. 10_000 is neutral; with no model set every node is
/// neutral.
interface ITrustModel {
    function trustBps(address node) external view returns (uint256);
}
