// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
contract Probe is Ownable { constructor() Ownable(msg.sender) {} }
