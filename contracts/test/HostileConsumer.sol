// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IConsumer} from "../interfaces/IConsumer.sol";
import {ICoordinator} from "../interfaces/ICoordinator.sol";
import {Coordinator} from "../core/Coordinator.sol";

/// @notice A consumer that misbehaves on purpose: reverts, burns all gas, re-enters, has no inputs to give, or
/// serves inputs one byte over the Coordinator's limit.
contract HostileConsumer is IConsumer {
    enum Mode {
        Revert,
        BurnGas,
        Reenter,
        RevertInputs,
        HugeInputs
    }

    Mode public mode;
    Coordinator public immutable coordinator;

    constructor(Coordinator coordinator_) {
        coordinator = coordinator_;
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function receiveCompute(
        uint64 subscriptionId,
        uint32 interval,
        uint16,
        address,
        bytes calldata,
        bytes calldata,
        bytes calldata
    ) external {
        if (mode == Mode.Revert) revert("no thanks");
        if (mode == Mode.BurnGas) {
            while (true) {}
        }
        if (mode == Mode.Reenter) coordinator.deliver(subscriptionId, interval, "", "", "");
    }

    function getContainerInputs(uint64, uint32, uint32) external view returns (bytes memory) {
        if (mode == Mode.RevertInputs) revert("no inputs");
        if (mode == Mode.HugeInputs) return new bytes(16_385);
        return hex"01";
    }

    function create(ICoordinator.SubscriptionParams calldata p) external payable returns (uint64) {
        return coordinator.createSubscription{value: msg.value}(p, msg.value);
    }

    function requestCompute(ICoordinator.SubscriptionParams calldata p) external payable returns (uint64) {
        return coordinator.requestCompute{value: msg.value}(p, msg.value);
    }

    function cancel(uint64 subscriptionId) external {
        coordinator.cancelSubscription(subscriptionId);
    }

    function withdraw(address token) external {
        coordinator.withdraw(token);
    }

    receive() external payable {}
}
