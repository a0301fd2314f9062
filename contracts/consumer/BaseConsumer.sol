// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IConsumer} from "../interfaces/IConsumer.sol";
import {Coordinator} from "../core/Coordinator.sol";

/// @title BaseConsumer
/// @notice Receives results from the Coordinator only; consumers override `_receiveCompute` and, for subscriptions
/// without inline inputs, `getContainerInputs`.
abstract contract BaseConsumer is IConsumer {
    error NotCoordinator(address caller);

    Coordinator internal immutable _coordinator;

    constructor(Coordinator coordinator_) {
        _coordinator = coordinator_;
    }

    function receiveCompute(
        uint64 subscriptionId,
        uint32 interval,
        uint16 slot,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) external {
        if (msg.sender != address(_coordinator)) revert NotCoordinator(msg.sender);
        _receiveCompute(subscriptionId, interval, slot, node, input, output, proof);
    }

    function getContainerInputs(uint64, uint32, uint32) external view virtual returns (bytes memory) {
        return "";
    }

    function _receiveCompute(
        uint64 subscriptionId,
        uint32 interval,
        uint16 slot,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) internal virtual;

    /// @dev Accepts refunds withdrawn from the Coordinator in ETH.
    receive() external payable virtual {}
}
