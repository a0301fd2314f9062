// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BaseConsumer} from "./BaseConsumer.sol";
import {ICoordinator} from "../interfaces/ICoordinator.sol";

/// @title CallbackConsumer
/// @notice One-shot requests: ask once, receive the result through `_receiveCompute`.
abstract contract CallbackConsumer is BaseConsumer {
    /// @notice Requests one computation of `containerId` on `inputs`, paying `paymentAmount` per node (ETH when
    /// `paymentToken` is zero, sent along as msg.value; an ERC-20 must be approved to the Coordinator first).
    function _requestCompute(
        bytes32 containerId,
        bytes memory inputs,
        uint16 redundancy,
        uint32 callbackGasLimit,
        address paymentToken,
        uint96 paymentAmount,
        address verifier
    ) internal returns (uint64 subscriptionId) {
        ICoordinator.SubscriptionParams memory p = ICoordinator.SubscriptionParams({
            containerId: containerId,
            activeAt: 0,
            period: 0,
            frequency: 1,
            redundancy: redundancy,
            callbackGasLimit: callbackGasLimit,
            lazy: false,
            paymentToken: paymentToken,
            paymentAmount: paymentAmount,
            verifier: verifier,
            inputs: inputs
        });
        uint256 deposit = uint256(paymentAmount) * redundancy;
        uint256 value = paymentToken == address(0) ? deposit : 0;
        return _coordinator.requestCompute{value: value}(p, deposit);
    }
}
