// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IConsumer
/// @notice What the Coordinator calls on a subscription owner.
interface IConsumer {
    /// @notice Eager delivery of one node's result for one interval. Runs under the subscription's callback gas
    /// limit; a revert here is recorded but never costs the node its payment.
    function receiveCompute(
        uint64 subscriptionId,
        uint32 interval,
        uint16 slot,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) external;

    /// @notice Inputs for an interval of a subscription without inline inputs. Called once, when the interval is
    /// requested; the returned bytes are pinned by hash so every node of the interval computes on the same input.
    function getContainerInputs(
        uint64 subscriptionId,
        uint32 interval,
        uint32 timestamp
    ) external view returns (bytes memory);
}

/// @title IDelegator
/// @notice A consumer that lets an off-chain signer create subscriptions on its behalf (EIP-712).
interface IDelegator {
    function getSigner() external view returns (address);
}
