// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FraudGuard} from "../libraries/FraudGuard.sol";

/// @notice Exposes the parameter guard (libraries/FraudGuard.sol) to the TypeScript tests, which cross-check it
/// against the sdk's exact economics (test/poi.guard.test.ts).
contract FraudGuardHarness {
    /// @notice Reverts exactly as the guard does (FraudProfitable / InvalidGuardInput).
    function check(FraudGuard.Inputs calldata x) external pure {
        FraudGuard.check(x);
    }

    /// @notice The guard's verdict on many inputs in one call: `firstM[i]` is 0 when input i is accepted, otherwise
    /// the tamper size FraudProfitable reports (type(uint256).max for any other revert).
    function checkMany(FraudGuard.Inputs[] calldata xs) external view returns (uint256[] memory firstM) {
        firstM = new uint256[](xs.length);
        for (uint256 i = 0; i < xs.length; ++i) {
            try this.check(xs[i]) {} catch (bytes memory reason) {
                uint256 m = type(uint256).max;
                if (reason.length == 100 && bytes4(reason) == FraudGuard.FraudProfitable.selector) {
                    assembly ("memory-safe") {
                        m := mload(add(reason, 36))
                    }
                }
                firstM[i] = m;
            }
        }
    }
}
