// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FraudGuard
/// @notice Refuses protocol parameters under which cheating pays. A node that tampers m of T steps saves (m/T)·C of
/// compute and gains at most G from a false output; with probability p_m it is caught and loses the escrowed reward R
/// and its bond S. Fraud is irrational at every m when (m/T)·C + G < p_m·(R + S).
///
/// The challenge picks one step per stratum of size at most s = ceil(T/k). A stratum holding a tampered steps
/// catches one with probability a/s_j ≥ 1 − (1 − 1/s)^a, and strata are independent, so for any placement
/// p_m ≥ 1 − (1 − 1/s)^m. The guard uses that lower bound (conservative), in 1e18 fixed point, for m = 1..T.
/// The sdk's economics module computes the exact figures for reports.
library FraudGuard {
    uint256 internal constant WAD = 1e18;

    error FraudProfitable(uint256 tamperedSteps, uint256 gain, uint256 expectedLoss);
    error InvalidGuardInput();

    struct Inputs {
        uint256 steps; // T, the largest step count accepted
        uint256 challenged; // k, the smallest audit depth
        uint256 reward; // R, the largest escrowed payment per job (wei)
        uint256 computeCost; // C, cost of computing a whole job honestly (wei)
        uint256 outsideGain; // G, value of a false output to the cheater (wei)
        uint256 bond; // S, stake slashed on proven fraud (wei)
    }

    /// @notice Reverts with `FraudProfitable` at the first tamper size where cheating has a non-negative payoff.
    function check(Inputs memory x) internal pure {
        if (x.steps == 0 || x.challenged == 0 || x.challenged > x.steps) revert InvalidGuardInput();
        uint256 s = (x.steps + x.challenged - 1) / x.challenged;
        uint256 survive = WAD; // (1 - 1/s)^m in WAD
        uint256 atStake = x.reward + x.bond;
        for (uint256 m = 1; m <= x.steps; ++m) {
            survive = (survive * (s - 1) + s - 1) / s; // rounded up: never overstates detection
            uint256 pCaught = WAD - survive;
            uint256 gain = (m * x.computeCost) / x.steps + x.outsideGain;
            uint256 loss = (pCaught * atStake) / WAD;
            if (gain >= loss) revert FraudProfitable(m, gain, loss);
        }
    }
}
