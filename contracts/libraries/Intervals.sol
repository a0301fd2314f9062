// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Intervals
/// @notice The interval rule. Interval n (1-based) of a subscription is the time window
/// [activeAt + (n-1)·period, activeAt + n·period). A one-shot subscription (period 0) has only interval 1, open from
/// activeAt on. An interval can be requested only while it is current; once requested its delivery deadline runs
/// from the request (not from the period boundary), so a delivery that lands a block after the period ends is
/// still valid and still paid.
library Intervals {
    /// @notice The current interval at `timestamp`, 0 when the subscription is not active yet.
    function current(uint32 activeAt, uint32 period, uint256 timestamp) internal pure returns (uint32) {
        if (timestamp < activeAt) return 0;
        if (period == 0) return 1;
        return uint32((timestamp - activeAt) / period + 1);
    }
}
