"""The child → parent wire format: plain values and numeric arrays as JSON, never pickle.

A sandboxed child sends newline-delimited JSON messages on a dedicated pipe (schema in
`parse_message`). Values are None, bool, int, float (NaN and ±inf included), str, lists and dicts
with string keys; a numeric or boolean numpy array travels as

    {"__ndarray__": {"dtype": "<f8", "shape": [64, 4], "data": "<base64 of the C-order bytes>"}}

The child encodes (`encode_message`), the trusted parent decodes and validates (`parse_message`,
`MessageStream`). Anything unexpected — bad JSON, an unknown event, an object dtype, a wrong byte
count, messages out of order, a message or a stream over its size cap — raises `MalformedMessage`,
and the parent then fails the submission.

The encoder runs in the same process as student code, so it uses references taken when this
module is imported (in the zygote, before any submission runs): the C JSON encoder, binascii and
numpy functions, and a snapshot of builtins; an honest submission that patches `json.dumps`, numpy
or `builtins` does not change how its values are encoded. One that attacks this module on purpose
can forge its own messages, which gains nothing: every verdict is made in the parent against the
reference's values (docs/architecture.md, "Threat model").
"""
import binascii
import builtins
import json
import json.encoder
import math
import re

import numpy

# Functions defined below look builtins up in this private copy, not in the shared module.
__builtins__ = dict(builtins.__dict__)

MAX_MESSAGE_BYTES = 32 * 2**20
MAX_STREAM_BYTES = 64 * 2**20
MAX_DEPTH = 64
ARRAY_KEY = "__ndarray__"
# Byte order, then b(ool), i(nt), u(int), f(loat) or c(omplex), then the item size: "<f8", "|b1".
ARRAY_DTYPE = re.compile(r"[<>|=]?[biufc]\d{1,2}")
EVENTS = ("loaded", "load_error", "probe", "done")

_encode_json = json.encoder.c_make_encoder(
    None, None, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)
_b2a_base64 = binascii.b2a_base64
_a2b_base64 = binascii.a2b_base64
_numpy_array = numpy.array
_numpy_dtype = numpy.dtype
_numpy_frombuffer = numpy.frombuffer
_ndarray = numpy.ndarray
_numpy_generic = numpy.generic


class MalformedMessage(ValueError):
    """A message from the child that the parent refuses; `str()` is the reason."""


def encode_value(value, to_array=None, _depth=0, _where="value"):
    """The JSON-ready form of a probe's value.

    `to_array(obj)` may turn foreign array types (torch tensors, in the child) into numpy arrays; it
    returns None for anything else. Tuples become lists. Raises TypeError or ValueError naming
    where in the value the problem is.
    """
    if _depth > MAX_DEPTH:
        raise ValueError(f"{_where} is nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if isinstance(value, (list, tuple)):
        return [encode_value(item, to_array, _depth + 1, f"{_where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {_check_key(key, _where): encode_value(item, to_array, _depth + 1, f"{_where}[{key!r}]")
                for key, item in value.items()}
    if isinstance(value, _numpy_generic):
        return _encode_scalar(value, _where)
    array = value if isinstance(value, _ndarray) else (to_array(value) if to_array else None)
    if array is None:
        raise TypeError(f"{_where} is a {kind.__name__}, which cannot be sent back to the grader")
    return _encode_array(array, _where)


def _check_key(key, where: str) -> str:
    if type(key) is not str:
        raise TypeError(f"{where} has a key {key!r} that is not a string")
    if key == ARRAY_KEY:
        raise ValueError(f"{where} uses the reserved key {ARRAY_KEY!r}")
    return key


def _encode_scalar(value, where: str):
    if value.dtype.kind not in "biuf":
        raise TypeError(f"{where} is a numpy {value.dtype} scalar; only numbers and booleans can be sent")
    return value.item()


def _encode_array(array, where: str) -> dict:
    array = _numpy_array(array, order="C", subok=False)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"{where} is an array of {array.dtype}; only numeric and boolean arrays can be sent")
    data = _b2a_base64(array.tobytes(), newline=False).decode("ascii")
    return {ARRAY_KEY: {"dtype": array.dtype.str, "shape": list(array.shape), "data": data}}


def encode_message(message: dict) -> bytes:
    """One message as a line of JSON (ASCII, NaN and ±inf kept). The values must already be
    JSON-ready (see `encode_value`)."""
    return ("".join(_encode_json(message, 0)) + "\n").encode("ascii")


def decode_value(obj, _depth: int = 0):
    """The value `encode_value` produced, with arrays back as numpy arrays. Raises MalformedMessage."""
    if _depth > MAX_DEPTH:
        raise MalformedMessage(f"a value is nested more than {MAX_DEPTH} levels deep")
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if type(obj) is list:
        return [decode_value(item, _depth + 1) for item in obj]
    if type(obj) is dict:
        if ARRAY_KEY in obj:
            if len(obj) != 1:
                raise MalformedMessage(f"an array object has keys besides {ARRAY_KEY!r}")
            return _decode_array(obj[ARRAY_KEY])
        return {key: decode_value(item, _depth + 1) for key, item in obj.items()}
    raise MalformedMessage(f"unexpected JSON value of type {type(obj).__name__}")


def _decode_array(spec) -> numpy.ndarray:
    if type(spec) is not dict or set(spec) != {"dtype", "shape", "data"}:
        raise MalformedMessage("an array must have exactly dtype, shape and data")
    dtype, shape, data = spec["dtype"], spec["shape"], spec["data"]
    if type(dtype) is not str or not ARRAY_DTYPE.fullmatch(dtype):
        raise MalformedMessage(f"array dtype {str(dtype)[:40]!r} is not a numeric or boolean type")
    if type(shape) is not list or len(shape) > 32 or any(type(n) is not int or n < 0 for n in shape):
        raise MalformedMessage("array shape must be a list of at most 32 non-negative integers")
    if type(data) is not str:
        raise MalformedMessage("array data must be a base64 string")
    try:
        dtype = _numpy_dtype(dtype)
        raw = _a2b_base64(data, strict_mode=True)
    except (TypeError, ValueError, binascii.Error) as error:
        raise MalformedMessage(f"bad array: {error}") from None
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise MalformedMessage(f"array data has {len(raw)} bytes, but shape {shape} of {dtype} needs "
                               f"{math.prod(shape) * dtype.itemsize}")
    return _numpy_frombuffer(bytearray(raw), dtype).reshape(shape)


def parse_message(line: bytes) -> dict:
    """Validate one message line from the child and return it with its value decoded.

    Messages: {"event": "loaded"} | {"event": "load_error", "error": ERROR} |
    {"event": "probe", "name": str, "value": VALUE} | {"event": "probe", "name": str, "error": ERROR}
    | {"event": "done"}, where ERROR is {"type": str, "message": str}.
    Raises MalformedMessage with the reason.
    """
    if len(line) > MAX_MESSAGE_BYTES:
        raise MalformedMessage(f"a message of {len(line)} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise MalformedMessage(f"not a JSON message ({type(error).__name__}: {str(error)[:100]})") from None
    if type(message) is not dict or message.get("event") not in EVENTS:
        raise MalformedMessage("a message must be an object whose event is one of " + ", ".join(EVENTS))
    event = message["event"]
    if event in ("loaded", "done"):
        _expect_keys(message, {"event"})
    elif event == "load_error":
        _expect_keys(message, {"event", "error"})
        _check_error(message["error"])
    elif "error" in message:
        _expect_keys(message, {"event", "name", "error"})
        _check_error(message["error"])
    else:
        _expect_keys(message, {"event", "name", "value"})
        message["value"] = decode_value(message["value"])
    if event == "probe" and type(message["name"]) is not str:
        raise MalformedMessage("a probe message's name must be a string")
    return message


def _expect_keys(message: dict, keys: set) -> None:
    if set(message) != keys:
        raise MalformedMessage(f"a {message['event']!r} message must have exactly the keys {sorted(keys)}")


def _check_error(error) -> None:
    if (type(error) is not dict or set(error) != {"type", "message"}
            or type(error["type"]) is not str or type(error["message"]) is not str):
        raise MalformedMessage("an error must be {\"type\": str, \"message\": str}")


class MessageStream:
    """Splits the child's byte stream into validated messages and checks their order: `loaded`
    then one `probe` message per requested name in order, or `load_error`; then `done`, last."""

    def __init__(self, probe_names: list[str], max_message: int = MAX_MESSAGE_BYTES,
                 max_stream: int = MAX_STREAM_BYTES):
        self.probe_names = list(probe_names)
        self.max_message = max_message
        self.max_stream = max_stream
        self.messages: list[dict] = []
        self.received = 0
        self._pending = bytearray()

    @property
    def done(self) -> bool:
        return bool(self.messages) and self.messages[-1]["event"] == "done"

    @property
    def has_partial_message(self) -> bool:
        """Bytes after the last newline: a message cut short."""
        return bool(self._pending)

    def feed(self, chunk: bytes) -> list[dict]:
        """Take the next bytes from the pipe; return the messages they complete."""
        self.received += len(chunk)
        if self.received > self.max_stream:
            raise MalformedMessage(f"the child sent more than {self.max_stream} bytes")
        self._pending += chunk
        if b"\n" not in chunk:  # a long message arrives in many chunks: only join once it ends
            if len(self._pending) > self.max_message:
                raise MalformedMessage(f"a message is longer than {self.max_message} bytes")
            return []
        *lines, rest = bytes(self._pending).split(b"\n")
        self._pending = bytearray(rest)
        new = []
        for line in lines:
            if len(line) > self.max_message:
                raise MalformedMessage(f"a message is longer than {self.max_message} bytes")
            message = parse_message(line)
            self._check_order(message)
            self.messages.append(message)
            new.append(message)
        return new

    def _check_order(self, message: dict) -> None:
        event, previous = message["event"], self.messages[-1]["event"] if self.messages else None
        if previous is None:
            allowed = {"loaded", "load_error"}
        elif previous == "done":
            allowed = set()
        elif previous == "load_error":
            allowed = {"done"}
        else:
            probes_sent = len(self.messages) - 1
            allowed = {"probe"} if probes_sent < len(self.probe_names) else {"done"}
        if event not in allowed:
            raise MalformedMessage(f"a {event!r} message came where {' or '.join(sorted(allowed)) or 'nothing'} "
                                   "was expected")
        if event == "probe":
            expected = self.probe_names[len(self.messages) - 1]
            if message["name"] != expected:
                raise MalformedMessage(f"a message for probe {message['name'][:80]!r} came where "
                                       f"{expected!r} was expected")
