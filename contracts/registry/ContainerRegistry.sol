// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IContainerRegistry} from "../interfaces/IContainerRegistry.sol";

/// @title ContainerRegistry
/// @notice Permissionless list of container ids (the hash of a name such as "diffusion-v1") and pipelines (the hash
/// of "a,b,c", as Ritual-compatible nodes name them). It exists so a typo in a subscription or a node registration
/// fails at once with `UnknownContainer` instead of silently matching no node.
contract ContainerRegistry is IContainerRegistry {
    struct Container {
        address publisher;
        uint32 registeredAt;
        bool pipeline;
        bytes32 imageDigest;
    }

    mapping(bytes32 id => Container) public containers;

    /// @notice Registers a container; `imageDigest` optionally pins the image (sha256 of its manifest) so operators
    /// can check they run what consumers expect.
    function registerContainer(string calldata name, bytes32 imageDigest) external returns (bytes32 id) {
        if (bytes(name).length == 0) revert EmptyContainerName();
        id = keccak256(bytes(name));
        if (containers[id].publisher != address(0)) revert ContainerAlreadyRegistered(id);
        containers[id] = Container(msg.sender, uint32(block.timestamp), false, imageDigest);
        emit ContainerRegistered(id, name, msg.sender, imageDigest);
    }

    /// @notice Registers the pipeline "names[0],names[1],…"; each hop must already be registered.
    function registerPipeline(string[] calldata names) external returns (bytes32 id) {
        if (names.length < 2) revert PipelineTooShort(names.length);
        bytes memory joined;
        for (uint256 i = 0; i < names.length; ++i) {
            bytes32 hop = keccak256(bytes(names[i]));
            if (containers[hop].publisher == address(0)) revert UnknownContainer(hop);
            joined = i == 0 ? bytes(names[i]) : bytes.concat(joined, ",", bytes(names[i]));
        }
        id = keccak256(joined);
        if (containers[id].publisher != address(0)) revert ContainerAlreadyRegistered(id);
        containers[id] = Container(msg.sender, uint32(block.timestamp), true, bytes32(0));
        emit PipelineRegistered(id, string(joined), msg.sender);
    }

    function isKnown(bytes32 id) external view returns (bool) {
        return containers[id].publisher != address(0);
    }
}
