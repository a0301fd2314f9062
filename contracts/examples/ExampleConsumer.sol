// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Coordinator} from "../core/Coordinator.sol";
import {ICoordinator} from "../interfaces/ICoordinator.sol";
import {CallbackConsumer} from "../consumer/CallbackConsumer.sol";
import {SubscriptionConsumer} from "../consumer/SubscriptionConsumer.sol";
import {Delegator} from "../consumer/Delegator.sol";
import {BaseConsumer} from "../consumer/BaseConsumer.sol";

/// @title ExampleConsumer
/// @notice A small consumer showing the three ways in: one-shot requests, recurring subscriptions whose inputs come
/// from a view, and delegated subscriptions signed off-chain. It keeps the last result of each subscription.
contract ExampleConsumer is CallbackConsumer, SubscriptionConsumer, Delegator, Ownable {
    struct Result {
        uint32 interval;
        address node;
        bytes output;
    }

    event ResultReceived(
        uint64 indexed subscriptionId,
        uint32 indexed interval,
        address indexed node,
        bytes output
    );

    mapping(uint64 subscriptionId => Result) public results;
    /// @notice Inputs served to recurring subscriptions through `getContainerInputs`.
    bytes public recurringInput;

    constructor(
        Coordinator coordinator_,
        address signer_
    ) BaseConsumer(coordinator_) Delegator(signer_) Ownable(msg.sender) {}

    function request(
        bytes32 containerId,
        bytes calldata inputs,
        uint16 redundancy,
        uint96 paymentAmount
    ) external payable onlyOwner returns (uint64) {
        return
            _requestCompute(containerId, inputs, redundancy, 200_000, address(0), paymentAmount, address(0));
    }

    function subscribe(
        ICoordinator.SubscriptionParams calldata p,
        uint256 deposit
    ) external payable onlyOwner returns (uint64) {
        return _createSubscription(p, deposit);
    }

    function cancel(uint64 subscriptionId) external onlyOwner {
        _cancelSubscription(subscriptionId);
    }

    function collectRefund(address token) external onlyOwner {
        _withdrawRefund(token);
        if (token == address(0)) payable(owner()).transfer(address(this).balance);
    }

    function setRecurringInput(bytes calldata input) external onlyOwner {
        recurringInput = input;
    }

    function setSigner(address signer_) external onlyOwner {
        _updateSigner(signer_);
    }

    function getContainerInputs(uint64, uint32, uint32) external view override returns (bytes memory) {
        return recurringInput;
    }

    function _receiveCompute(
        uint64 subscriptionId,
        uint32 interval,
        uint16,
        address node,
        bytes calldata,
        bytes calldata output,
        bytes calldata
    ) internal override {
        results[subscriptionId] = Result(interval, node, output);
        emit ResultReceived(subscriptionId, interval, node, output);
    }
}
