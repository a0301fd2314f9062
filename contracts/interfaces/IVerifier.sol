// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IVerifier
/// @notice A verification contract a subscription can name. The Coordinator calls it inside `deliver`, after the
/// slot is marked Held; a revert rejects the delivery. Payment is released later through `Coordinator.settle`.
interface IVerifier {
    function onDeliver(
        uint64 subscriptionId,
        uint32 interval,
        uint16 slot,
        address node,
        bytes32 outputHash,
        uint256 payment,
        uint256 bond,
        bytes calldata proof
    ) external;
}
