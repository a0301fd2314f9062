// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {Coordinator} from "../core/Coordinator.sol";
import {ICoordinator} from "../interfaces/ICoordinator.sol";
import {BaseConsumer} from "../consumer/BaseConsumer.sol";
import {CallbackConsumer} from "../consumer/CallbackConsumer.sol";
import {TokenIO} from "../libraries/TokenIO.sol";

/// @notice The parts of the ProofOfInference verifier VideoNFT reads (declared here rather than importing the
/// contract, which would compile the verifier again inside this contract's build).
interface IVideoVerifier {
    /// @dev The public getter of `ProofOfInference.params` (IProofOfInference.Params, member by member), declared up
    /// to `maxPrice`, the last member read here: ABI decoding ignores the members after it.
    function params()
        external
        view
        returns (
            uint32 revealWindow,
            uint32 verdictWindow,
            uint32 disputeWindow,
            uint32 committeeWindow,
            uint16 kMin,
            uint16 kMax,
            uint16 maxSteps,
            uint16 requesterShareBps,
            uint16 challengerShareBps,
            uint8 committeeSize,
            uint96 validatorBond,
            uint96 disputeBond,
            uint96 validatorPenalty,
            uint96 maxPrice
        );

    function registry() external view returns (address);
}

/// @notice The NodeRegistry's pull payments (slash shares are credited there) and its stake token.
interface ISlashCredits {
    function credits(address account) external view returns (uint256);

    function withdrawCredits() external;

    function stakeToken() external view returns (address);
}

/// @title VideoNFT
/// @notice Mints a video as an ERC-721. `mint(prompt)` pays for one Proof-of-Inference-verified diffusion job through
/// the Coordinator (container `containerId`, verifier `verifier`, inputs `abi.encode(prompt, negativePrompt, steps,
/// guidanceMilli, width, height, frames)` as the sdk's `encodeDiffusionInputs`). When the assigned node delivers, the
/// token is minted to the requester carrying the delivered video's sha256 and storage URI; it is "pending" until the
/// verifier settles the job. `settle` then reads the outcome from the Coordinator: a paid job marks the token
/// verified (and returns to the requester any part of the price a quality-weighted payout withheld); a job refused
/// for proven fraud (or never delivered) burns the token and refunds the requester the price, plus, after fraud, the
/// requester share of the cheating node's slashed bond that the protocol paid this contract.
/// @dev Tokens are minted with `_mint`, not `_safeMint`: the mint runs inside the node's delivery under a fixed
/// callback gas limit, and a receiver hook must not be able to make the delivery's callback fail.
contract VideoNFT is CallbackConsumer, ERC721, Ownable, ReentrancyGuardTransient {
    /// @notice Where a request stands. Delivered = token minted, verification pending; Malformed = the node
    /// delivered bytes that are not `abi.encode(bytes videoSha256, bytes uri)` (no token; settled like any other).
    enum Status {
        None,
        Requested,
        Delivered,
        Malformed,
        Verified,
        Refunded
    }

    /// @notice What the owner sets for every mint. `price` is what a mint costs and the most the node is paid.
    struct Terms {
        uint96 price;
        uint16 steps;
        uint32 guidanceMilli;
        uint16 width;
        uint16 height;
        uint16 frames;
        uint32 callbackGasLimit;
    }

    struct Request {
        address requester;
        uint96 price;
        Status status;
        uint256 tokenId;
        string prompt;
    }

    /// @notice The delivered video a token stands for.
    struct Video {
        uint64 requestId;
        address node;
        bytes32 videoSha256;
        string uri;
    }

    /// @notice The sdk's limit (`MAX_PROMPT_BYTES`): longer prompts could never be decoded by nodes or validators.
    uint256 public constant MAX_PROMPT_BYTES = 1024;
    /// @notice Longest storage URI a token keeps; a longer one is treated as a malformed delivery.
    uint256 public constant MAX_URI_BYTES = 256;
    /// @notice Least callback gas that covers a mint with a URI of MAX_URI_BYTES.
    uint32 public constant MIN_CALLBACK_GAS = 400_000;
    /// @dev Every request is a one-shot subscription: its only interval is 1 and its only slot 0.
    uint32 private constant INTERVAL = 1;
    uint16 private constant BPS = 10_000;

    bytes32 public immutable containerId;
    IVideoVerifier public immutable verifier;
    ISlashCredits public immutable registry;

    Terms public terms;
    /// @notice The unconditional prompt of guidance sent with every job ("" for none).
    string public negativePrompt;
    uint256 public tokenCount;
    /// @notice Requests by Coordinator subscription id.
    mapping(uint64 requestId => Request) private _requests;
    mapping(uint256 tokenId => Video) private _videos;
    /// @notice token => account => refund it may withdraw (`withdrawRefund`).
    mapping(address token => mapping(address account => uint256)) public refunds;
    /// @dev Slash shares withdrawn from the NodeRegistry and not yet passed on to a requester.
    uint256 private _compensationPool;

    error WrongPayment(uint256 sent, uint256 price);
    error EmptyPrompt();
    error PromptTooLong(uint256 length, uint256 maximum);
    error PriceAboveVerifierLimit(uint256 price, uint256 maximum);
    error StepsOutOfRange(uint16 steps, uint16 maximum);
    error InvalidVideoSize(uint16 width, uint16 height, uint16 frames);
    error CallbackGasOutOfRange(uint32 limit, uint32 minimum, uint32 maximum);
    error UnknownRequest(uint64 requestId);
    error RequestAlreadySettled(uint64 requestId, Status status);
    error JobNotSettled(uint64 requestId, ICoordinator.SlotStatus status);
    error NothingToRefund(address account, address token);
    error MalformedOutput();

    event TermsSet(Terms terms, string negativePrompt);
    event VideoRequested(uint64 indexed requestId, address indexed requester, string prompt, uint256 price);
    event VideoMinted(
        uint256 indexed tokenId,
        uint64 indexed requestId,
        address indexed owner,
        address node,
        bytes32 videoSha256,
        string uri
    );
    event DeliveryMalformed(uint64 indexed requestId, address indexed node);
    /// @dev `returned`: the part of the price the node was not paid (quality-weighted payout), credited back.
    event VideoVerified(uint256 indexed tokenId, uint64 indexed requestId, uint256 returned);
    event RequestRefunded(
        uint64 indexed requestId,
        address indexed requester,
        uint256 returned,
        uint256 compensation,
        uint256 burnedTokenId
    );
    event RefundWithdrawn(address indexed token, address indexed account, uint256 amount);

    constructor(
        Coordinator coordinator_,
        IVideoVerifier verifier_,
        bytes32 containerId_,
        Terms memory terms_,
        string memory negativePrompt_
    ) BaseConsumer(coordinator_) ERC721("InferNet Video", "IVID") Ownable(msg.sender) {
        verifier = verifier_;
        registry = ISlashCredits(verifier_.registry());
        containerId = containerId_;
        _setTerms(terms_, negativePrompt_);
    }

    // ---------------------------------------------------------------- requests

    /// @notice Pays `terms.price` for a video of `prompt`; returns the request id (the Coordinator subscription id).
    /// The token is minted to msg.sender when a node delivers.
    function mint(string calldata prompt) external payable nonReentrant returns (uint64 requestId) {
        Terms memory t = terms;
        if (msg.value != t.price) revert WrongPayment(msg.value, t.price);
        uint256 length = bytes(prompt).length;
        if (length == 0) revert EmptyPrompt();
        if (length > MAX_PROMPT_BYTES) revert PromptTooLong(length, MAX_PROMPT_BYTES);
        // The verifier's limits may have moved since the terms were set: a job it refuses would lock the price
        // until the slot expires.
        _checkTerms(t);
        bytes memory inputs = abi.encode(
            prompt,
            negativePrompt,
            t.steps,
            t.guidanceMilli,
            t.width,
            t.height,
            t.frames
        );
        requestId = _requestCompute(
            containerId,
            inputs,
            1,
            t.callbackGasLimit,
            address(0),
            t.price,
            address(verifier)
        );
        _requests[requestId] = Request({
            requester: msg.sender,
            price: t.price,
            status: Status.Requested,
            tokenId: 0,
            prompt: prompt
        });
        emit VideoRequested(requestId, msg.sender, prompt, t.price);
    }

    /// @notice Settles a request once the Coordinator has. A paid job marks its token verified; a job refused by the
    /// verifier (proven fraud) or expired without delivery burns the token, if any, and credits the requester the
    /// price and, after fraud, the requester share of the slashed bond (in the stake token). Whatever part of the
    /// price the node was not paid (all of it when refused or expired, the part a quality-weighted pass withholds)
    /// is credited back to the requester. Anyone may call; the credits are withdrawn with `withdrawRefund`.
    function settle(uint64 requestId) external nonReentrant {
        Request storage r = _requests[requestId];
        if (r.requester == address(0)) revert UnknownRequest(requestId);
        Status status = r.status;
        if (status == Status.Verified || status == Status.Refunded)
            revert RequestAlreadySettled(requestId, status);
        (ICoordinator.IntervalState memory interval, , ICoordinator.Slot[] memory slots) = _coordinator
            .getInterval(requestId, INTERVAL);
        ICoordinator.SlotStatus outcome = slots[0].status;
        bool paid = outcome == ICoordinator.SlotStatus.Paid;
        if (
            !paid && outcome != ICoordinator.SlotStatus.Refunded && outcome != ICoordinator.SlotStatus.Expired
        ) revert JobNotSettled(requestId, outcome);

        address requester = r.requester;
        uint256 tokenId = r.tokenId;
        r.status = paid ? Status.Verified : Status.Refunded;
        uint256 returned = _reclaimEscrow(requestId);
        if (returned != 0) refunds[address(0)][requester] += returned;
        if (paid) {
            emit VideoVerified(tokenId, requestId, returned);
            return;
        }
        if (tokenId != 0) _burn(tokenId);
        uint256 compensation;
        if (outcome == ICoordinator.SlotStatus.Refunded) {
            compensation = _takeCompensation(interval.bond);
            if (compensation != 0) refunds[registry.stakeToken()][requester] += compensation;
        }
        emit RequestRefunded(requestId, requester, returned, compensation, tokenId);
    }

    /// @notice Pays msg.sender everything credited to it in `token` (address(0) = ETH).
    function withdrawRefund(address token) external nonReentrant {
        uint256 amount = refunds[token][msg.sender];
        if (amount == 0) revert NothingToRefund(msg.sender, token);
        refunds[token][msg.sender] = 0;
        emit RefundWithdrawn(token, msg.sender, amount);
        TokenIO.push(token, msg.sender, amount);
    }

    // ---------------------------------------------------------------- owner

    /// @notice Sets what later mints cost and ask for; requests already made keep theirs.
    function setTerms(Terms calldata terms_, string calldata negativePrompt_) external onlyOwner {
        _setTerms(terms_, negativePrompt_);
    }

    // ---------------------------------------------------------------- views

    function getRequest(uint64 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @notice The video behind a token (reverts for tokens that do not exist, e.g. burned after fraud).
    function videoOf(uint256 tokenId) external view returns (Video memory) {
        _requireOwned(tokenId);
        return _videos[tokenId];
    }

    /// @notice ERC-721 metadata as a data URI: the prompt, the video URI (`animation_url`), its sha256, the node
    /// that made it and the verification state ("pending" until the verifier settled the job, then "verified").
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        Video storage v = _videos[tokenId];
        Request storage r = _requests[v.requestId];
        bytes memory json = abi.encodePacked(
            '{"name":"InferNet video #',
            Strings.toString(tokenId),
            '","description":"',
            _jsonEscape(bytes(r.prompt)),
            '","animation_url":"',
            _jsonEscape(bytes(v.uri)),
            '","attributes":[{"trait_type":"video_sha256","value":"',
            Strings.toHexString(uint256(v.videoSha256), 32),
            '"},{"trait_type":"node","value":"',
            Strings.toHexString(v.node),
            '"},{"trait_type":"request","value":',
            Strings.toString(v.requestId),
            '},{"trait_type":"verification","value":"',
            r.status == Status.Verified ? "verified" : "pending",
            '"}]}'
        );
        return string.concat("data:application/json;base64,", Base64.encode(json));
    }

    /// @notice Decodes a delivered output `abi.encode(bytes videoSha256, bytes uri)`; reverts when it is not one
    /// (a 32-byte hash and a URI of at most MAX_URI_BYTES). External so the callback can try it.
    function decodeVideoOutput(
        bytes calldata output
    ) external pure returns (bytes32 videoSha256, string memory uri) {
        (bytes memory sha, bytes memory u) = abi.decode(output, (bytes, bytes));
        if (sha.length != 32 || u.length == 0 || u.length > MAX_URI_BYTES) revert MalformedOutput();
        return (bytes32(sha), string(u));
    }

    // ---------------------------------------------------------------- internals

    /// @dev The delivery (eager callback, inside `Coordinator.deliver`): mints the token to the requester. The
    /// verifier has only recorded the node's commitment at this point; `settle` applies its outcome later.
    function _receiveCompute(
        uint64 subscriptionId,
        uint32,
        uint16,
        address node,
        bytes calldata,
        bytes calldata output,
        bytes calldata
    ) internal override {
        Request storage r = _requests[subscriptionId];
        if (r.status != Status.Requested) return; // not ours, or delivered already (redundancy is 1)
        try this.decodeVideoOutput(output) returns (bytes32 videoSha256, string memory uri) {
            uint256 tokenId = ++tokenCount;
            r.status = Status.Delivered;
            r.tokenId = tokenId;
            _videos[tokenId] = Video({
                requestId: subscriptionId,
                node: node,
                videoSha256: videoSha256,
                uri: uri
            });
            address requester = r.requester;
            _mint(requester, tokenId);
            emit VideoMinted(tokenId, subscriptionId, requester, node, videoSha256, uri);
        } catch {
            r.status = Status.Malformed;
            emit DeliveryMalformed(subscriptionId, node);
        }
    }

    /// @dev Takes the subscription's free escrow (what the Coordinator unlocked instead of paying the node) out of the
    /// Coordinator into this contract; returns the amount.
    function _reclaimEscrow(uint64 requestId) private returns (uint256 free) {
        (uint256 balance, uint256 locked) = _coordinator.escrowOf(requestId);
        free = balance - locked;
        if (free == 0) return 0;
        _coordinator.withdrawFunds(requestId, free);
        _coordinator.withdraw(address(0));
    }

    /// @dev The requester share of a slashed job bond, as ProofOfInference computes it. The NodeRegistry credits it
    /// to this contract (the subscription owner); what is withdrawn from there is pooled, so shares of several
    /// slashed jobs are passed on one by one whatever order their requests settle in.
    function _takeCompensation(uint256 bond) private returns (uint256 amount) {
        uint256 credited = registry.credits(address(this));
        if (credited != 0) {
            registry.withdrawCredits();
            _compensationPool += credited;
        }
        (, , , , , , , uint16 requesterShareBps, , , , , , ) = verifier.params();
        amount = (bond * requesterShareBps) / BPS;
        if (amount > _compensationPool) amount = _compensationPool;
        _compensationPool -= amount;
    }

    function _setTerms(Terms memory t, string memory negativePrompt_) private {
        if (bytes(negativePrompt_).length > MAX_PROMPT_BYTES)
            revert PromptTooLong(bytes(negativePrompt_).length, MAX_PROMPT_BYTES);
        _checkTerms(t);
        terms = t;
        negativePrompt = negativePrompt_;
        emit TermsSet(t, negativePrompt_);
    }

    /// @dev Terms every job must meet to be deliverable: a price the verifier accepts, a step count it can commit
    /// to, a size, and a callback gas limit that pays for the mint and that the Coordinator allows.
    function _checkTerms(Terms memory t) private view {
        (, , , , , , uint16 maxSteps, , , , , , , uint96 maxPrice) = verifier.params();
        if (t.price > maxPrice) revert PriceAboveVerifierLimit(t.price, maxPrice);
        if (t.steps == 0 || t.steps > maxSteps) revert StepsOutOfRange(t.steps, maxSteps);
        if (t.width == 0 || t.height == 0 || t.frames == 0)
            revert InvalidVideoSize(t.width, t.height, t.frames);
        (, uint32 maxCallbackGas, , , , , ) = _coordinator.params();
        if (t.callbackGasLimit < MIN_CALLBACK_GAS || t.callbackGasLimit > maxCallbackGas)
            revert CallbackGasOutOfRange(t.callbackGasLimit, MIN_CALLBACK_GAS, maxCallbackGas);
    }

    /// @dev `s` as the body of a JSON string: quotes and backslashes escaped, control characters as \u00XX.
    function _jsonEscape(bytes memory s) private pure returns (bytes memory out) {
        uint256 extra;
        for (uint256 i = 0; i < s.length; ++i) {
            bytes1 c = s[i];
            if (c == '"' || c == "\\") extra += 1;
            else if (uint8(c) < 0x20) extra += 5;
        }
        if (extra == 0) return s;
        out = new bytes(s.length + extra);
        bytes16 hexDigits = "0123456789abcdef";
        uint256 j;
        for (uint256 i = 0; i < s.length; ++i) {
            bytes1 c = s[i];
            if (c == '"' || c == "\\") {
                out[j++] = "\\";
                out[j++] = c;
            } else if (uint8(c) < 0x20) {
                out[j++] = "\\";
                out[j++] = "u";
                out[j++] = "0";
                out[j++] = "0";
                out[j++] = hexDigits[uint8(c) >> 4];
                out[j++] = hexDigits[uint8(c) & 0x0f];
            } else {
                out[j++] = c;
            }
        }
    }
}
