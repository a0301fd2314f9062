// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Coordinator} from "../core/Coordinator.sol";
import {ICoordinator} from "../interfaces/ICoordinator.sol";
import {BaseConsumer} from "../consumer/BaseConsumer.sol";
import {CallbackConsumer} from "../consumer/CallbackConsumer.sol";
import {SubscriptionConsumer} from "../consumer/SubscriptionConsumer.sol";

/// @notice Minimal consumer for the gas benchmark (bench/gas.ts): its callback writes exactly one storage slot, and
/// its recurring inputs are one 32-byte word, so measured costs are the protocol's and not the consumer's.
contract BenchConsumer is CallbackConsumer, SubscriptionConsumer {
    /// @notice First 32 bytes of the latest output per subscription (the one slot the callback writes).
    mapping(uint64 subscriptionId => bytes32) public results;

    constructor(Coordinator coordinator_) BaseConsumer(coordinator_) {}

    /// @notice One-shot eager request through CallbackConsumer: redundancy 1, 200k callback gas, paid in ETH.
    function request(
        bytes32 containerId,
        bytes calldata inputs,
        uint96 paymentAmount
    ) external payable returns (uint64) {
        return _requestCompute(containerId, inputs, 1, 200_000, address(0), paymentAmount, address(0));
    }

    /// @notice Any one-shot request (e.g. lazy), prepaid in ETH from msg.value.
    function requestWith(ICoordinator.SubscriptionParams calldata p) external payable returns (uint64) {
        return _coordinator.requestCompute{value: msg.value}(p, msg.value);
    }

    /// @notice Creates a (recurring) subscription prepaid with msg.value.
    function subscribe(ICoordinator.SubscriptionParams calldata p) external payable returns (uint64) {
        return _createSubscription(p, msg.value);
    }

    function cancel(uint64 subscriptionId) external {
        _cancelSubscription(subscriptionId);
    }

    function getContainerInputs(
        uint64,
        uint32 interval,
        uint32
    ) external pure override returns (bytes memory) {
        return abi.encode(bytes32(uint256(interval)));
    }

    function _receiveCompute(
        uint64 subscriptionId,
        uint32,
        uint16,
        address,
        bytes calldata,
        bytes calldata output,
        bytes calldata
    ) internal override {
        results[subscriptionId] = bytes32(output);
    }
}

/// @notice Minimal verification contract for the gas benchmark and the invariant fuzz: accepts every delivery
/// (`onDeliver`, the hook the Coordinator calls for subscriptions that name a verifier) and lets its caller settle the
/// held payment through it (`settle` must come from the subscription's verifier). Test-only: anyone may settle.
contract BenchVerifier {
    error NotCoordinator(address caller);

    Coordinator public immutable coordinator;

    constructor(Coordinator coordinator_) {
        coordinator = coordinator_;
    }

    function onDeliver(
        uint64,
        uint32,
        uint16,
        address,
        bytes32,
        uint256,
        uint256,
        bytes calldata
    ) external view {
        if (msg.sender != address(coordinator)) revert NotCoordinator(msg.sender);
    }

    function settle(uint64 subscriptionId, uint32 interval, uint16 slot, uint16 payBps) external {
        coordinator.settle(subscriptionId, interval, slot, payBps);
    }
}
