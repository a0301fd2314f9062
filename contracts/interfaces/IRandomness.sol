// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IRandomness
/// @notice A source of randomness that is fixed only after it is requested, so neither the requester nor a node
/// can know the value when it commits to an action. Dev chains use a future block hash; production plugs a VRF.
interface IRandomness {
    /// @notice Reserves a round whose value is unknown at the time of this call.
    function requestRound() external returns (uint64 round);

    /// @notice True once `valueOf(round)` can be read.
    function isReady(uint64 round) external view returns (bool);

    /// @notice True when the round can never become readable (e.g. its block hash fell out of the 256-block window).
    function isExpired(uint64 round) external view returns (bool);

    /// @notice The random value of a ready round; reverts when not ready or expired.
    function valueOf(uint64 round) external view returns (bytes32);
}
