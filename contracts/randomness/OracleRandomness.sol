// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IRandomness} from "../interfaces/IRandomness.sol";

/// @title OracleRandomness
/// @notice Adapter slot for a verifiable random function in production. A round is requested here; an authorised
/// fulfiller (a VRF coordinator's callback adapter, e.g. Chainlink VRF, which proves the value on-chain before
/// calling) writes its value once. The value cannot be known before fulfilment and cannot be changed after it.
contract OracleRandomness is IRandomness, Ownable2Step {
    error NotFulfiller(address caller);
    error UnknownRound(uint64 round);
    error AlreadyFulfilled(uint64 round);
    error RoundNotReady(uint64 round);

    event RoundRequested(uint64 indexed round, address indexed requester);
    event RoundFulfilled(uint64 indexed round, bytes32 value);
    event FulfillerSet(address fulfiller);

    address public fulfiller;
    uint64 public lastRound;
    mapping(uint64 round => bytes32) private _values;

    constructor(address owner_, address fulfiller_) Ownable(owner_) {
        fulfiller = fulfiller_;
        emit FulfillerSet(fulfiller_);
    }

    function setFulfiller(address fulfiller_) external onlyOwner {
        fulfiller = fulfiller_;
        emit FulfillerSet(fulfiller_);
    }

    function requestRound() external returns (uint64 round) {
        round = ++lastRound;
        emit RoundRequested(round, msg.sender);
    }

    /// @notice Called by the VRF adapter with a value it has verified.
    function fulfill(uint64 round, bytes32 value) external {
        if (msg.sender != fulfiller) revert NotFulfiller(msg.sender);
        if (round == 0 || round > lastRound) revert UnknownRound(round);
        if (_values[round] != bytes32(0)) revert AlreadyFulfilled(round);
        // Zero marks "not fulfilled", so a zero value is stored as 1; the event reports what valueOf will return.
        bytes32 stored = value == bytes32(0) ? bytes32(uint256(1)) : value;
        _values[round] = stored;
        emit RoundFulfilled(round, stored);
    }

    function isReady(uint64 round) public view returns (bool) {
        return _values[round] != bytes32(0);
    }

    function isExpired(uint64) external pure returns (bool) {
        return false;
    }

    function valueOf(uint64 round) external view returns (bytes32) {
        if (!isReady(round)) revert RoundNotReady(round);
        return _values[round];
    }
}
