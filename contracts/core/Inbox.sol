// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Inbox
/// @notice Lazy delivery: results wait here for the consumer to read instead of being pushed through a callback,
/// so a delivery costs the node no consumer gas at all.
abstract contract Inbox {
    struct InboxItem {
        uint32 timestamp;
        bytes output;
        bytes proof;
    }

    mapping(bytes32 key => InboxItem) private _inbox;

    /// @notice The result `node` delivered for an interval; timestamp 0 when there is none.
    function inboxOf(
        uint64 subscriptionId,
        uint32 interval,
        address node
    ) external view returns (InboxItem memory) {
        return _inbox[_inboxKey(subscriptionId, interval, node)];
    }

    function _store(
        uint64 subscriptionId,
        uint32 interval,
        address node,
        bytes calldata output,
        bytes calldata proof
    ) internal {
        InboxItem storage item = _inbox[_inboxKey(subscriptionId, interval, node)];
        item.timestamp = uint32(block.timestamp);
        item.output = output;
        if (proof.length != 0) item.proof = proof;
    }

    function _inboxKey(uint64 subscriptionId, uint32 interval, address node) private pure returns (bytes32) {
        return keccak256(abi.encode(subscriptionId, interval, node));
    }
}
