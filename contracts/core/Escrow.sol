// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {TokenIO} from "../libraries/TokenIO.sol";
import {Fees} from "../libraries/Fees.sol";

/// @title Escrow
/// @notice Consumer prepayment per subscription (ETH or one ERC-20). Money for a requested interval is locked at the
/// request, so the consumer cannot take it back while a node works; payment to a node is a separate step that a
/// verifier may hold back. Everything owed to an account is a credit it withdraws itself (pull payments).
abstract contract Escrow is ReentrancyGuardTransient {
    /// @notice Hard cap on the protocol fee, whatever governance sets.
    uint16 public constant MAX_FEE_BPS = 1_000;

    /// @dev Invariant: locked <= balance. `balance` includes `locked`.
    struct Account {
        uint128 balance;
        uint128 locked;
    }

    error InsufficientEscrow(uint64 subscriptionId, uint256 needed, uint256 available);
    error NothingToWithdraw(address account, address token);

    event Funded(uint64 indexed subscriptionId, address indexed from, uint256 amount);
    event FundsWithdrawn(uint64 indexed subscriptionId, address indexed to, uint256 amount);
    event Locked(uint64 indexed subscriptionId, uint256 amount);
    event Unlocked(uint64 indexed subscriptionId, uint256 amount);
    event Paid(uint64 indexed subscriptionId, address indexed node, uint256 net, uint256 fee);
    event Credited(address indexed token, address indexed account, uint256 amount);
    event Withdrawn(address indexed token, address indexed account, uint256 amount);

    mapping(uint64 subscriptionId => Account) private _accounts;
    /// @notice token => account => amount it may withdraw.
    mapping(address token => mapping(address account => uint256)) public credits;

    function escrowOf(uint64 subscriptionId) external view returns (uint256 balance, uint256 locked) {
        Account storage a = _accounts[subscriptionId];
        return (a.balance, a.locked);
    }

    /// @notice Pull payment of everything credited to msg.sender in `token`.
    function withdraw(address token) external nonReentrant {
        uint256 amount = credits[token][msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender, token);
        credits[token][msg.sender] = 0;
        emit Withdrawn(token, msg.sender, amount);
        TokenIO.push(token, msg.sender, amount);
    }

    function _fund(uint64 subscriptionId, address token, uint256 amount) internal {
        uint256 received = TokenIO.pull(token, msg.sender, amount);
        _accounts[subscriptionId].balance += uint128(received);
        emit Funded(subscriptionId, msg.sender, received);
    }

    /// @dev Moves unlocked funds to `to`'s credit; returns the amount.
    function _refundFree(
        uint64 subscriptionId,
        address token,
        address to,
        uint256 amount
    ) internal returns (uint256) {
        Account storage a = _accounts[subscriptionId];
        uint256 free = a.balance - a.locked;
        if (amount == type(uint256).max) amount = free;
        if (amount > free) revert InsufficientEscrow(subscriptionId, amount, free);
        if (amount == 0) return 0;
        a.balance -= uint128(amount);
        _credit(token, to, amount);
        emit FundsWithdrawn(subscriptionId, to, amount);
        return amount;
    }

    function _lock(uint64 subscriptionId, uint256 amount) internal {
        Account storage a = _accounts[subscriptionId];
        uint256 free = a.balance - a.locked;
        if (amount > free) revert InsufficientEscrow(subscriptionId, amount, free);
        a.locked += uint128(amount);
        emit Locked(subscriptionId, amount);
    }

    function _unlock(uint64 subscriptionId, uint256 amount) internal {
        _accounts[subscriptionId].locked -= uint128(amount);
        emit Unlocked(subscriptionId, amount);
    }

    /// @dev Releases `amount` of locked funds: `paid` (at most `amount`) goes to `node`, less the protocol fee on that
    /// part, which goes to `treasury`; the rest stays in the subscription's balance, unlocked for its owner. One
    /// write of the account either way.
    function _payLocked(
        uint64 subscriptionId,
        address token,
        address node,
        uint256 amount,
        uint256 paid,
        uint16 feeBps,
        address treasury
    ) internal {
        Account storage a = _accounts[subscriptionId];
        a.locked -= uint128(amount);
        a.balance -= uint128(paid);
        (uint256 fee, uint256 net) = Fees.split(paid, feeBps);
        credits[token][node] += net;
        if (fee != 0) credits[token][treasury] += fee;
        emit Paid(subscriptionId, node, net, fee);
        if (paid != amount) emit Unlocked(subscriptionId, amount - paid);
    }

    function _credit(address token, address to, uint256 amount) internal {
        credits[token][to] += amount;
        emit Credited(token, to, amount);
    }
}
