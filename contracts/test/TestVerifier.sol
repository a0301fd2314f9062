// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVerifier} from "../interfaces/IVerifier.sol";
import {Coordinator} from "../core/Coordinator.sol";

/// @notice A verifier for Coordinator tests: records what `deliver` forwards, can refuse deliveries, and settles on
/// command. The real verifier is the Proof-of-Inference contract.
contract TestVerifier is IVerifier {
    error Refused();

    event DeliveryRecorded(
        uint64 subscriptionId,
        uint32 interval,
        uint16 slot,
        address node,
        bytes32 outputHash,
        uint256 payment,
        uint256 bond,
        bytes proof
    );

    Coordinator public immutable coordinator;
    bool public refuse;

    constructor(Coordinator coordinator_) {
        coordinator = coordinator_;
    }

    function setRefuse(bool refuse_) external {
        refuse = refuse_;
    }

    function onDeliver(
        uint64 subscriptionId,
        uint32 interval,
        uint16 slot,
        address node,
        bytes32 outputHash,
        uint256 payment,
        uint256 bond,
        bytes calldata proof
    ) external {
        if (refuse) revert Refused();
        emit DeliveryRecorded(subscriptionId, interval, slot, node, outputHash, payment, bond, proof);
    }

    function settle(uint64 subscriptionId, uint32 interval, uint16 slot, uint16 payBps) external {
        coordinator.settle(subscriptionId, interval, slot, payBps);
    }
}
