// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Fees
/// @notice Protocol fee arithmetic in basis points, rounding the fee down so a node is never short-changed.
library Fees {
    uint16 internal constant BPS = 10_000;

    /// @return fee the protocol's part of `amount`
    /// @return net what the payee receives
    function split(uint256 amount, uint16 feeBps) internal pure returns (uint256 fee, uint256 net) {
        fee = (amount * feeBps) / BPS;
        net = amount - fee;
    }
}
