// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IDelegator} from "../interfaces/IConsumer.sol";

/// @title Delegator
/// @notice Names the off-chain signer allowed to create subscriptions for this consumer (EIP-712).
abstract contract Delegator is IDelegator {
    event SignerUpdated(address signer);

    address private _signer;

    constructor(address signer_) {
        _updateSigner(signer_);
    }

    function getSigner() external view returns (address) {
        return _signer;
    }

    function _updateSigner(address signer_) internal {
        _signer = signer_;
        emit SignerUpdated(signer_);
    }
}
