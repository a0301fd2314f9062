// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BaseConsumer} from "./BaseConsumer.sol";
import {ICoordinator} from "../interfaces/ICoordinator.sol";

/// @title SubscriptionConsumer
/// @notice Recurring subscriptions: create, top up, cancel, take back unspent prepayment.
abstract contract SubscriptionConsumer is BaseConsumer {
    function _createSubscription(
        ICoordinator.SubscriptionParams memory p,
        uint256 deposit
    ) internal returns (uint64) {
        uint256 value = p.paymentToken == address(0) ? deposit : 0;
        return _coordinator.createSubscription{value: value}(p, deposit);
    }

    /// @dev Unspent prepayment becomes a credit of this contract; `_withdrawRefund` collects it.
    function _cancelSubscription(uint64 subscriptionId) internal {
        _coordinator.cancelSubscription(subscriptionId);
    }

    function _withdrawRefund(address token) internal {
        _coordinator.withdraw(token);
    }
}
