// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ICoordinator} from "../interfaces/ICoordinator.sol";
import {IDelegator} from "../interfaces/IConsumer.sol";

/// @title DelegatedSubscriptions
/// @notice A consumer contract's authorised signer creates subscriptions off-chain (EIP-712); whoever first presents
/// the signature (usually a node) creates it on-chain. Replay-safe: the domain binds chain id and this contract, each
/// (owner, nonce) creates at most one subscription, and a signature is refused after its expiry.
abstract contract DelegatedSubscriptions is EIP712 {
    bytes32 public constant DELEGATED_SUBSCRIPTION_TYPEHASH =
        keccak256(
            "DelegatedSubscription(address owner,uint32 nonce,uint32 expiry,bytes32 containerId,uint32 activeAt,"
            "uint32 period,uint32 frequency,uint16 redundancy,uint32 callbackGasLimit,bool lazy,address paymentToken,"
            "uint96 paymentAmount,address verifier,bytes inputs)"
        );

    error SignatureExpired(uint32 expiry);
    error InvalidDelegateSignature(address owner, address signer);

    event DelegatedSubscriptionCreated(
        address indexed owner,
        uint32 indexed nonce,
        uint64 indexed subscriptionId
    );

    /// @notice owner => nonce => subscription it created (0 when unused).
    mapping(address owner => mapping(uint32 nonce => uint64)) public delegatedSubscriptionOf;

    constructor() EIP712("InferNet Coordinator", "1") {}

    /// @notice Creates the signed subscription, or returns the one this (owner, nonce) already created.
    function createSubscriptionDelegated(
        address owner,
        uint32 nonce,
        uint32 expiry,
        ICoordinator.SubscriptionParams calldata p,
        bytes calldata signature
    ) external returns (uint64 subscriptionId) {
        subscriptionId = delegatedSubscriptionOf[owner][nonce];
        if (subscriptionId != 0) return subscriptionId;
        if (block.timestamp > expiry) revert SignatureExpired(expiry);
        address signer = IDelegator(owner).getSigner();
        bytes32 digest = delegatedDigest(owner, nonce, expiry, p);
        if (signer == address(0) || !SignatureChecker.isValidSignatureNow(signer, digest, signature)) {
            revert InvalidDelegateSignature(owner, signer);
        }
        subscriptionId = _createSubscription(owner, p);
        delegatedSubscriptionOf[owner][nonce] = subscriptionId;
        emit DelegatedSubscriptionCreated(owner, nonce, subscriptionId);
    }

    /// @notice The EIP-712 digest a signer signs for these parameters.
    function delegatedDigest(
        address owner,
        uint32 nonce,
        uint32 expiry,
        ICoordinator.SubscriptionParams calldata p
    ) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(DELEGATED_SUBSCRIPTION_TYPEHASH, owner, nonce, expiry, p.containerId, p.activeAt),
                abi.encode(p.period, p.frequency, p.redundancy, p.callbackGasLimit, p.lazy, p.paymentToken),
                abi.encode(p.paymentAmount, p.verifier, keccak256(p.inputs))
            )
        );
        return _hashTypedDataV4(structHash);
    }

    function _createSubscription(
        address owner,
        ICoordinator.SubscriptionParams calldata p
    ) internal virtual returns (uint64);
}
