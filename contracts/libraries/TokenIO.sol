// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

/// @title TokenIO
/// @notice Moves ETH (token == address(0)) or an ERC-20 in and out of a contract with one code path.
library TokenIO {
    using SafeERC20 for IERC20;

    error UnexpectedEth(uint256 sent);
    error WrongEthAmount(uint256 sent, uint256 expected);

    /// @notice Takes `amount` from `from`. For ETH the caller must have sent exactly `amount` as msg.value.
    /// @return received what actually arrived (fee-on-transfer tokens deliver less than `amount`)
    function pull(address token, address from, uint256 amount) internal returns (uint256 received) {
        if (token == address(0)) {
            if (msg.value != amount) revert WrongEthAmount(msg.value, amount);
            return amount;
        }
        if (msg.value != 0) revert UnexpectedEth(msg.value);
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(from, address(this), amount);
        return IERC20(token).balanceOf(address(this)) - before;
    }

    function push(address token, address to, uint256 amount) internal {
        if (token == address(0)) Address.sendValue(payable(to), amount);
        else IERC20(token).safeTransfer(to, amount);
    }
}
