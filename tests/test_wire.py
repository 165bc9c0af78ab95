"""wire: values and arrays survive the trip as JSON; anything else the child sends is refused."""
import builtins
import json

import numpy as np
import pytest

from autograder.sandbox import wire
from autograder.sandbox.wire import MalformedMessage, MessageStream, decode_value, encode_message, encode_value, parse_message


def round_trip(value):
    line = encode_message({"event": "probe", "name": "p", "value": encode_value(value)})
    return parse_message(line.rstrip(b"\n"))["value"]


def array_message(**spec) -> bytes:
    fields = {"dtype": "<f8", "shape": [2], "data": "AAAAAAAA8D8AAAAAAAAAQA==", **spec}
    return json.dumps({"event": "probe", "name": "p", "value": {"__ndarray__": fields}}).encode()


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint16", "int32", "int64", "float16", "float32",
                                   "float64", "complex128", ">f8"])
def test_arrays_of_every_numeric_dtype_round_trip(dtype):
    array = (np.arange(12) % 5).astype(dtype).reshape(3, 4)
    back = round_trip(array)
    assert back.dtype == array.dtype and back.shape == (3, 4)
    np.testing.assert_array_equal(back, array)
    back[0, 0] = 1  # decoded arrays are ordinary writable arrays


def test_odd_shapes_views_and_non_finite_values_round_trip():
    matrix = np.arange(12.0).reshape(3, 4)
    values = {"scalar": np.array(2.5), "empty": np.zeros((0, 3)), "transposed": matrix.T, "sliced": matrix[::2, 1:],
              "specials": np.array([np.nan, np.inf, -np.inf, -0.0]),
              "floats": [float("nan"), float("inf"), float("-inf"), 1e-310, 0.1]}
    back = round_trip(values)
    for key in ("scalar", "empty", "transposed", "sliced"):
        assert back[key].shape == values[key].shape
        np.testing.assert_array_equal(back[key], values[key])
    np.testing.assert_array_equal(back["specials"], values["specials"])
    assert np.signbit(back["specials"][3])
    assert np.isnan(back["floats"][0]) and back["floats"][1:] == [float("inf"), float("-inf"), 1e-310, 0.1]


def test_plain_values_round_trip_with_tuples_as_lists_and_numpy_scalars_as_python():
    value = {"none": None, "flag": True, "n": -7, "big": 2**70, "text": "é ✓ \n \"quoted\"",
             "nested": [(1, 2), {"deeper": [np.float32(0.5), np.int64(3), np.bool_(False)]}]}
    back = round_trip(value)
    assert back == {**value, "nested": [[1, 2], {"deeper": [0.5, 3, False]}]}
    assert [type(x) for x in back["nested"][1]["deeper"]] == [float, int, bool]


@pytest.mark.parametrize("value, problem", [
    (np.array(["a", "b"]), "array of <U1"),
    (np.array([object()]), "array of object"),
    (np.array(["2024-01-01"], dtype="datetime64[D]"), "array of datetime64"),
    (np.str_("x"), "numpy <U1 scalar"),
    ({1: "x"}, "key 1 that is not a string"),
    ({"__ndarray__": 1}, "reserved key"),
    (object(), "is a object"),
    ({"a": [1, {1.5j}]}, "value['a'][1] is a set"),
])
def test_values_that_cannot_travel_are_refused_with_where(value, problem):
    with pytest.raises((TypeError, ValueError), match=problem.replace("[", r"\[").replace("]", r"\]")):
        encode_value(value)


def test_cycles_and_deep_nesting_are_refused():
    cycle = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="nested more than"):
        encode_value(cycle)


def test_foreign_arrays_go_through_the_hook():
    class Tensor:
        def to_numpy(self):
            return np.ones(2)

    hook = lambda obj: obj.to_numpy() if isinstance(obj, Tensor) else None  # noqa: E731
    assert encode_value({"t": Tensor()}, hook) == encode_value({"t": np.ones(2)})
    with pytest.raises(TypeError, match="Tensor"):
        encode_value(Tensor())


def test_a_message_is_one_ascii_line_with_nan_kept():
    line = encode_message({"event": "probe", "name": "é", "value": [float("nan"), float("-inf")]})
    assert line == b'{"event":"probe","name":"\\u00e9","value":[NaN,-Infinity]}\n'


def test_encoding_ignores_patched_json_numpy_and_builtins(monkeypatch):
    value = {"a": np.arange(3.0), "b": [1, "x"]}
    expected = encode_message({"event": "probe", "name": "p", "value": encode_value(value)})
    monkeypatch.setattr(json, "dumps", lambda *a, **k: "forged")
    monkeypatch.setattr(json.JSONEncoder, "iterencode", lambda *a, **k: iter(["forged"]))
    monkeypatch.setattr(np, "array", lambda *a, **k: np.zeros(1))
    real_isinstance, real_len = builtins.isinstance, builtins.len
    builtins.isinstance, builtins.len = (lambda obj, kinds: False), (lambda obj: 0)
    try:
        again = encode_message({"event": "probe", "name": "p", "value": encode_value(value)})
    finally:
        builtins.isinstance, builtins.len = real_isinstance, real_len
    assert again == expected


@pytest.mark.parametrize("message", [
    {"event": "loaded"}, {"event": "done"},
    {"event": "load_error", "error": {"type": "SyntaxError", "message": "bad"}},
    {"event": "probe", "name": "p", "error": {"type": "TypeError", "message": "no"}},
    {"event": "probe", "name": "p", "value": {"x": [1, None]}},
])
def test_every_kind_of_message_parses(message):
    assert parse_message(json.dumps(message).encode()) == message


@pytest.mark.parametrize("line, reason", [
    (b"garbage", "not a JSON message"),
    (b"\xff\xfe", "not a JSON message (UnicodeDecodeError"),
    (b"[1, 2]", "must be an object"),
    (b'{"event": "hello"}', "must be an object whose event"),
    (b'{"event": "loaded", "extra": 1}', "exactly the keys ['event']"),
    (b'{"event": "load_error", "error": "bad"}', "an error must be"),
    (b'{"event": "load_error", "error": {"type": 1, "message": ""}}', "an error must be"),
    (b'{"event": "probe", "name": 3, "value": 1}', "name must be a string"),
    (b'{"event": "probe", "name": "p", "value": 1, "error": {"type": "", "message": ""}}', "exactly the keys"),
    (b'{"event": "probe", "name": "p"}', "exactly the keys"),
    (array_message(dtype="|O"), "not a numeric or boolean type"),
    (array_message(dtype="<U4"), "not a numeric or boolean type"),
    (array_message(dtype="f8,i4"), "not a numeric or boolean type"),
    (array_message(dtype="<f99"), "bad array"),
    (array_message(shape=[-2]), "non-negative integers"),
    (array_message(shape=[3]), "array data has 16 bytes, but shape [3] of float64 needs 24"),
    (array_message(data="not base64!"), "bad array"),
    (array_message(data=5), "base64 string"),
    (array_message(extra=1), "exactly dtype, shape and data"),
    (b'{"event": "probe", "name": "p", "value": {"__ndarray__": {}, "x": 1}}', "keys besides"),
    (b'{"event": "probe", "name": "p", "value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "RecursionError"),
    (b'{"event": "probe", "name": "p", "value": ' + b"[" * 100 + b"]" * 100 + b"}", "nested more than"),
])
def test_malformed_messages_are_refused_with_a_reason(line, reason):
    with pytest.raises(MalformedMessage, match=reason.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        parse_message(line)


def test_an_oversized_message_is_refused(monkeypatch):
    monkeypatch.setattr(wire, "MAX_MESSAGE_BYTES", 100)
    with pytest.raises(MalformedMessage, match="over the 100-byte limit"):
        parse_message(json.dumps({"event": "probe", "name": "p", "value": "x" * 100}).encode())


def test_decode_refuses_what_json_cannot_hold():
    with pytest.raises(MalformedMessage, match="unexpected JSON value of type tuple"):
        decode_value((1, 2))


def stream_bytes(*messages) -> bytes:
    return b"".join(encode_message(m) for m in messages)


LOADED, DONE = {"event": "loaded"}, {"event": "done"}


def probe_message(name, value=1):
    return {"event": "probe", "name": name, "value": value}


def test_a_stream_split_anywhere_gives_the_same_messages():
    data = stream_bytes(LOADED, probe_message("a", encode_value(np.arange(50.0))), probe_message("b"), DONE)
    for step in (1, 7, len(data)):
        stream = MessageStream(["a", "b"])
        received = []
        for start in range(0, len(data), step):
            received += stream.feed(data[start:start + step])
        assert [m["event"] for m in received] == ["loaded", "probe", "probe", "done"]
        assert stream.done and not stream.has_partial_message and stream.messages == received
        np.testing.assert_array_equal(received[1]["value"], np.arange(50.0))


def test_a_cut_message_is_left_pending():
    stream = MessageStream(["a"])
    stream.feed(stream_bytes(LOADED) + b'{"event": "pro')
    assert stream.has_partial_message and not stream.done and len(stream.messages) == 1


@pytest.mark.parametrize("messages, reason", [
    ([probe_message("a")], "a 'probe' message came where load_error or loaded was expected"),
    ([LOADED, LOADED], "a 'loaded' message came where probe was expected"),
    ([LOADED, probe_message("b")], "probe 'b' came where 'a' was expected"),
    ([LOADED, probe_message("a"), probe_message("a")], "came where done was expected"),
    ([{"event": "load_error", "error": {"type": "E", "message": ""}}, probe_message("a")], "where done was expected"),
    ([LOADED, probe_message("a"), DONE, DONE], "where nothing was expected"),
])
def test_messages_out_of_order_are_malformed(messages, reason):
    stream = MessageStream(["a"])
    with pytest.raises(MalformedMessage, match=reason):
        stream.feed(stream_bytes(*messages))


def test_the_stream_and_each_message_have_size_caps():
    with pytest.raises(MalformedMessage, match="more than 100 bytes"):
        MessageStream(["a"], max_stream=100).feed(b" " * 101)
    long_message = MessageStream(["a"], max_message=50)
    long_message.feed(b"x" * 40)
    with pytest.raises(MalformedMessage, match="longer than 50 bytes"):
        long_message.feed(b"x" * 40)
    with pytest.raises(MalformedMessage, match="longer than 50 bytes"):
        MessageStream(["a"], max_message=50).feed(b"x" * 60 + b"\n")
